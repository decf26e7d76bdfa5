# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ACLs, certificates, MSDTC and BitLocker: ``ansible.windows.win_acl``, ``win_acl_inheritance``,
``win_owner``, ``win_certificate_store`` (``state: absent``), and the commands ``msdtc`` and
``manage-bde`` for ``win_command``.

The ACL emulations work on ``acls[<path>].sddl`` (parsed and printed with
``plugins/plugin_utils/_sddl.py``) and follow the installed module sources:

- ``win_acl`` (Ansible.ModuleUtils.Legacy): resolves ``user`` (a SID string or a well-known English
  account name here; anything else fails "<user> is not a valid user or group on the host machine
  or domain"); ``inherit`` defaults to ``ContainerInherit, ObjectInherit`` on a directory and is
  ``None`` on a file; builds a ``FileSystemAccessRule`` - whose constructor adds Synchronize to an
  allow rule and strips it from a deny rule other than FullControl (.NET
  ``FileSystemAccessRule.AccessMaskFromRights``); an existing entry *matches* when rights, type,
  SID, inheritance and propagation flags are equal and it is not inherited. ``present`` without a
  match adds the rule (merged, as .NET ``AddAccessRule`` does, into an explicit entry with the same
  SID, type and flags; then canonical order), ``absent`` with a match removes it; otherwise nothing
  changes and the result is only ``changed: false`` (Legacy ``Exit-Json`` drops its message).
- ``win_acl_inheritance`` (Ansible.Basic): ``absent`` protects the DACL (``P``) and drops the
  inherited entries, or with ``reorganize`` keeps them as explicit entries; ``present`` removes
  ``P`` and adds back the entries listed in the path's ``inherited_from_parent`` (SDDL ACE
  strings, optional: the simulator has no parent directories). Diff ``{state: absent|present}``.
- ``win_owner``: owner by SID; ``recurse`` also changes ``acls`` entries below the path.

Assumptions (none of this ran on Windows): ``%SystemDrive%`` is ``C:``; ``acls`` entries are
directories unless ``isdir: false``; merging of entries with different inheritance flags that .NET
may do is not modelled; a rights name PowerShell cannot cast fails with the module's catch-all
message. ``win_certificate_store``: only ``state: absent`` by ``thumbprint`` is modelled.

``msdtc -uninstall`` removes the MSDTC service (it refuses while MSDTC runs: stop it first, as the
doc says); ``msdtc -install`` (re)creates it with the Windows defaults - display name
"Distributed Transaction Coordinator", start mode delayed auto, logon ``NT AUTHORITY\\NetworkService``,
dependencies ``RpcSs`` - stopped, and clears ``start_fails`` (the reinstall repairs what made it
fail). Both print nothing and return 0.

``manage-bde -unlock <X:> -RecoveryPassword <pw>`` (``-rp``) unlocks a volume of
``bitlocker_volumes`` when ``pw`` equals its ``recovery_password`` (rc 1 and "ERROR: The recovery
password is not valid." otherwise, never echoing it); ``manage-bde -off <X:>`` fails on a locked
volume with the "locked by BitLocker" error, else sets protection Off and ``DecryptionInProgress``
(the simulator does not advance time). Drive letters only. The texts are approximations.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ansible_collections.vmbackup.azure.plugins.plugin_utils._sddl import (
    FULL_CONTROL,
    SYNCHRONIZE,
    Ace,
    SddlError,
    account_sid,
    canonical_order,
    format_sddl,
    parse_file_rights,
    parse_sddl,
    with_dacl,
)
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim import files
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.args import fail
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.probe_security import find_acl, store_certificates

_ENV = {"%systemdrive%": "C:", "%programdata%": "C:\\ProgramData", "%systemroot%": "C:\\Windows"}


def _expand(path: str) -> str:
    out = str(path)
    for var, value in _ENV.items():
        out = re.sub(re.escape(var), lambda _m, v=value: v, out, flags=re.IGNORECASE)
    return out


def _acl_entry(state, path: str, missing_msg: str) -> tuple[str, dict]:
    found = find_acl(state, path)
    if found is not None:
        return found
    if files.find_file(state, path) is not None:
        raise fail(f"simulator: the ACL of {path} is not modelled (add it to the state's acls section)")
    raise fail(missing_msg)


def _load_sd(path: str, entry: dict):
    try:
        return parse_sddl(entry.get("sddl"))
    except SddlError as exc:
        raise fail(f"simulator: acls[{path}].sddl is not valid SDDL: {exc}") from None


def _save_sd(state, entry: dict, sd) -> None:
    text = format_sddl(sd)
    if entry.get("sddl") != text:
        entry["sddl"] = text
        state.touch()


def access_mask_from_rights(rights: int, allow: bool) -> int:
    """.NET ``FileSystemAccessRule.AccessMaskFromRights``."""
    if allow:
        return rights | SYNCHRONIZE
    if rights not in (FULL_CONTROL, FULL_CONTROL & ~0x40):
        return rights & ~SYNCHRONIZE
    return rights


_INHERIT_FLAGS = {"containerinherit": "CI", "objectinherit": "OI", "none": ""}
_PROPAGATION_FLAGS = {"inheritonly": "IO", "nopropagateinherit": "NP", "none": ""}


def _flag_set(text: str, table: dict, what: str) -> set:
    out = set()
    for part in str(text).split(","):
        name = part.strip().lower()
        if name not in table:
            raise ValueError(f'Cannot convert value "{text}" to type "{what}"')
        if table[name]:
            out.add(table[name])
    return out


def win_acl(ctx) -> dict:
    p, state = ctx.params, ctx.state
    path, user, rights_text, kind, want = p["path"], p["user"], p["rights"], p["type"], p["state"] or "present"
    key, entry = _acl_entry(state, path, f"{path} file or directory does not exist on the host")
    sid = account_sid(user)
    if sid is None:
        raise fail(f"{user} is not a valid user or group on the host machine or domain")
    is_dir = entry.get("isdir", True) is not False
    inherit = "None" if not is_dir else (p.get("inherit") or "ContainerInherit, ObjectInherit")
    try:
        rights = parse_file_rights(rights_text)
        flags = _flag_set(inherit, _INHERIT_FLAGS, "System.Security.AccessControl.InheritanceFlags")
        flags |= _flag_set(p.get("propagation") or "None", _PROPAGATION_FLAGS, "PropagationFlags")
    except ValueError as exc:
        raise fail(
            f"an error occurred when attempting to {want} {rights_text} permission(s) on {path} for {user} - {exc}"
        ) from None
    sd = _load_sd(key, entry)
    mask = access_mask_from_rights(rights, kind == "allow")
    rule = Ace(type="A" if kind == "allow" else "D", flags=frozenset(flags), mask=mask, sid=sid)
    dacl = list(sd.dacl or ())
    match = [
        a
        for a in dacl
        if not a.inherited
        and a.sid == sid
        and a.type == rule.type
        and a.mask == rule.mask
        and set(a.flags) == set(rule.flags)
        and not a.object_guid
        and not a.inherit_object_guid
    ]
    if want == "present" and not match:
        if not ctx.check_mode:
            for i, ace in enumerate(dacl):
                if not ace.inherited and ace.sid == sid and ace.type == rule.type and set(ace.flags) == set(rule.flags):
                    dacl[i] = Ace(type=ace.type, flags=ace.flags, mask=ace.mask | rule.mask, sid=sid)
                    break
            else:
                dacl.append(rule)
            _save_sd(state, entry, with_dacl(sd, canonical_order(dacl)))
        return {"changed": True}
    if want == "absent" and match:
        if not ctx.check_mode:
            _save_sd(state, entry, with_dacl(sd, remove_access_rule(dacl, rule, is_dir)))
        return {"changed": True}
    return {"changed": False}


def _scope(flags, is_dir: bool) -> set:
    """Where an ACE applies: this object (unless IO), child containers (CI), child objects (OI)."""
    if not is_dir:
        return {"self"}
    out = set() if "IO" in flags else {"self"}
    if "CI" in flags:
        out.add("containers")
    if "OI" in flags:
        out.add("objects")
    return out


def _flags_for(scope: set, keep) -> frozenset:
    flags = {f for f in keep if f not in ("CI", "OI", "IO")}
    if "containers" in scope:
        flags.add("CI")
    if "objects" in scope:
        flags.add("OI")
    if "self" not in scope:
        flags.add("IO")
    return frozenset(flags)


def remove_access_rule(dacl: list, rule, is_dir: bool) -> list:
    """.NET ``ObjectSecurity.RemoveAccessRule`` as win_acl.ps1 calls it (ansible.windows 3.x lines 272-276,
    after the exact-match check of lines 197-240): ``CommonAcl.RemoveQualifiedAces`` (dotnet/runtime
    System.Security.AccessControl ACL.cs) subtracts the rule's access mask from *every* explicit ACE of
    the same SID and type whose scope overlaps the rule's, splitting an ACE whose scope is only partly
    covered, and drops ACEs left with no rights. So removing ``(A;OICI;FA;;;WD)`` also strips the default
    ``(A;;0x12019f;;;WD)``: the ACE is not removed alone.
    """
    rule_scope = _scope(rule.flags, is_dir)
    out = []
    for ace in dacl:
        if ace.inherited or ace.sid != rule.sid or ace.type != rule.type or ace.object_guid or ace.inherit_object_guid:
            out.append(ace)
            continue
        scope = _scope(ace.flags, is_dir)
        covered = scope & rule_scope
        left = ace.mask & ~rule.mask
        if not covered or left == ace.mask:
            out.append(ace)
            continue
        if scope - covered:  # the part of the ACE the rule does not cover keeps its rights
            out.append(Ace(type=ace.type, flags=_flags_for(scope - covered, ace.flags), mask=ace.mask, sid=ace.sid))
        if left:
            out.append(Ace(type=ace.type, flags=_flags_for(covered, ace.flags), mask=left, sid=ace.sid))
    return out


def win_acl_inheritance(ctx) -> dict:
    p, state = ctx.params, ctx.state
    path = _expand(p["path"])
    key, entry = _acl_entry(state, path, f"{path} does not exist")
    sd = _load_sd(key, entry)
    before = "absent" if sd.protected else "present"
    want = p.get("state") or "absent"
    changed = False
    new = sd
    if want == "present" and sd.protected:
        parent = []
        for text in entry.get("inherited_from_parent") or []:
            parent.extend(parse_sddl("D:" + str(text)).dacl)
        dacl = list(sd.dacl or ())
        if p.get("reorganize"):
            dacl = [
                a for a in dacl if not any(a.sid == b.sid and a.mask == b.mask and a.type == b.type for b in parent)
            ]
        new = with_dacl(sd, canonical_order(dacl + parent), set(sd.dacl_flags) - {"P"})
        changed = True
    elif want == "absent" and not sd.protected:
        dacl = []
        for ace in sd.dacl or ():
            if ace.inherited:
                if p.get("reorganize"):
                    dacl.append(Ace(type=ace.type, flags=ace.flags - {"ID"}, mask=ace.mask, sid=ace.sid))
                continue
            dacl.append(ace)
        new = with_dacl(sd, canonical_order(dacl), set(sd.dacl_flags) | {"P"})
        changed = True
    if changed and not ctx.check_mode:
        _save_sd(state, entry, new)
    after = "absent" if (new if changed else sd).protected else "present"
    return {"changed": changed, "diff": {"before": {"state": before}, "after": {"state": after}}}


def win_owner(ctx) -> dict:
    p, state = ctx.params, ctx.state
    path, user = p["path"], p["user"]
    key, entry = _acl_entry(state, path, f"{path} file or directory does not exist on the host")
    sid = account_sid(user)
    if sid is None:
        raise fail(
            f"Failed to translate '{user}' to a SecurityIdentifier: Some or all identity references could not be"
            " translated."
        )
    targets = [(key, entry)]
    if p.get("recurse") and entry.get("isdir", True) is not False:
        prefix = key.replace("/", "\\").rstrip("\\").lower() + "\\"
        targets += [(k, e) for k, e in (state.data.get("acls") or {}).items() if str(k).lower().startswith(prefix)]
    changed = False
    for target_key, target in targets:
        sd = _load_sd(target_key, target)
        if sd.owner != sid:
            changed = True
            if not ctx.check_mode:
                _save_sd(state, target, replace(sd, owner=sid))
    return {"changed": changed}


def win_certificate_store(ctx) -> dict:
    p, state = ctx.params, ctx.state
    if p.get("state") != "absent":
        raise fail(f"simulator: win_certificate_store state={p.get('state')} is not modelled (only absent)")
    if p.get("store_type") not in (None, "system"):
        raise fail("simulator: win_certificate_store store_type=service is not modelled")
    if not p.get("thumbprint"):
        if p.get("path"):
            raise fail("simulator: win_certificate_store state=absent by path is not modelled (use thumbprint)")
        raise fail("state is absent but any of the following are missing: path, thumbprint")
    thumbprint = str(p["thumbprint"])
    store = store_certificates(state, f"{p.get('store_location') or 'LocalMachine'}\\{p.get('store_name') or 'My'}")
    found = [c for c in store if isinstance(c, dict) and str(c.get("thumbprint", "")).upper() == thumbprint.upper()]
    if found and not ctx.check_mode:
        for cert in found:
            store.remove(cert)
        state.touch()
    return {"changed": bool(found), "thumbprints": [thumbprint]}


# --------------------------------------------------------------------------- commands

MSDTC_DEFAULTS = {
    "display_name": "Distributed Transaction Coordinator",
    "state": "stopped",
    "start_mode": "delayed",
    "username": "NT AUTHORITY\\NetworkService",
    "dependencies": ["RpcSs"],
}
_BDE_BANNER = (
    "BitLocker Drive Encryption: Configuration Tool version 10.0.20348\r\n"
    "Copyright (C) 2013 Microsoft Corporation. All rights reserved.\r\n\r\n"
)


def _msdtc(state, words: list[str]) -> tuple[int, str, str]:
    found = state.find_service("MSDTC")
    if words[1:] == ["-uninstall"]:
        if found is None:
            return 0, "", ""
        name, svc = found
        if svc.get("state") != "stopped":
            return 1, "", "simulator assumption: msdtc -uninstall refuses while MSDTC runs; stop it first\r\n"
        del state.services[name]
        state.touch()
        return 0, "", ""
    if words[1:] == ["-install"]:
        name = found[0] if found else "MSDTC"
        old = found[1] if found else {}
        new = {k: v for k, v in old.items() if k not in ("start_fails",)}
        new.update({k: (list(v) if isinstance(v, list) else v) for k, v in MSDTC_DEFAULTS.items()})
        if old.get("state") == "running":
            new["state"] = "running"
        if new != old:
            state.services[name] = new
            state.touch()
        return 0, "", ""
    raise fail(f"simulator: command not modelled: {' '.join(words)}")


def _volume(state, mount: str) -> dict | None:
    want = mount.rstrip("/").upper()
    for vol in state.data.get("bitlocker_volumes") or []:
        if isinstance(vol, dict) and str(vol.get("mount_point", "")).rstrip("\\").upper() == want:
            return vol
    return None


def _manage_bde(state, words: list[str]) -> tuple[int, str, str]:
    if len(words) < 3 or words[1] not in ("-unlock", "-off"):
        raise fail("simulator: command not modelled: manage-bde " + " ".join(words[1:2]) + " ...")
    mount = words[2].upper()
    vol = _volume(state, mount)
    if vol is None:
        return 1, _BDE_BANNER + "ERROR: An error occurred (code 0x80070057):\r\nThe parameter is incorrect.\r\n", ""
    locked = str(vol.get("lock_status", "")).lower() == "locked"
    if words[1] == "-unlock":
        rest = words[3:]
        if len(rest) != 2 or rest[0] not in ("-recoverypassword", "-rp"):
            raise fail("simulator: manage-bde -unlock is modelled with -RecoveryPassword <password> only")
        if not locked:
            return 0, _BDE_BANNER + f"Volume {mount} is already unlocked.\r\n", ""
        if rest[1] != str(vol.get("recovery_password", "")).lower():
            return 1, _BDE_BANNER + "ERROR: The recovery password is not valid.\r\n", ""
        vol["lock_status"] = "Unlocked"
        vol["protection_status"] = "On"
        state.touch()
        return 0, _BDE_BANNER + f"The password successfully unlocked volume {mount}.\r\n", ""
    if locked:
        return (
            1,
            _BDE_BANNER + "ERROR: An error occurred (code 0x80310000):\r\nThis drive is locked by BitLocker Drive"
            " Encryption. You must unlock this drive from Control Panel.\r\n",
            "",
        )
    if str(vol.get("volume_status")) != "FullyDecrypted":
        vol["volume_status"] = "DecryptionInProgress"
    vol["protection_status"] = "Off"
    vol["key_protectors"] = []
    state.touch()
    return 0, _BDE_BANNER + "Decryption is now in progress.\r\n", ""


def run_command(state, words: list[str]) -> tuple[int, str, str] | None:
    """``(rc, stdout, stderr)`` for msdtc / manage-bde; None for any other command."""
    if not words:
        return None
    program = re.sub(r"^.*/", "", words[0])
    if program in ("msdtc", "msdtc.exe"):
        return _msdtc(state, words)
    if program in ("manage-bde", "manage-bde.exe"):
        return _manage_bde(state, words)
    return None


SCRIPT_MARKERS = {
    "# vmbackup.azure:bitlocker_unlock": "unlock",
    "# vmbackup.azure:bitlocker_off": "off",
}


def script_kind(script: str) -> str | None:
    """Which of our state-changing scripts (plugins/plugin_utils/_windows_scripts.py) this is, if any."""
    for line in script.splitlines():
        kind = SCRIPT_MARKERS.get(line.strip())
        if kind:
            return kind
    return None


def bitlocker_script(state, kind: str, parameters: dict, check_mode: bool, result: dict) -> dict:
    """Our BitLocker scripts as win_powershell runs them: with ``$ErrorActionPreference = 'Stop'`` a cmdlet
    error is terminating, so the result has win_powershell's failure shape (failed, ``error`` entries,
    no ``msg``; win_powershell.ps1 lines 950-959, 1019-1044). Cmdlet messages are approximations."""
    mount = str(parameters.get("MountPoint") or "").rstrip("\\").upper()
    if not mount or (kind == "unlock" and not parameters.get("RecoveryPassword")):
        missing = "MountPoint" if not mount else "RecoveryPassword"
        return _script_failed(result, f"Cannot bind argument to parameter '{missing}' because it is an empty string.")
    vol = _volume(state, mount)
    if vol is None:
        return _script_failed(result, f"Get-BitLockerVolume : BitLocker volume {mount} was not found.")
    locked = str(vol.get("lock_status", "")).lower() == "locked"
    if kind == "unlock":
        if not locked:
            return dict(result, changed=False)
        if check_mode:  # -WhatIf: ShouldProcess is false, Unlock-BitLocker never runs (nor checks the password)
            return dict(result, changed=True)
        if str(parameters["RecoveryPassword"]).lower() != str(vol.get("recovery_password", "")).lower():
            return _script_failed(result, "Unlock-BitLocker : The recovery password is not valid.")
        vol["lock_status"] = "Unlocked"
        vol["protection_status"] = "On"
        state.touch()
        return dict(result, changed=True)
    if str(vol.get("volume_status")) in ("FullyDecrypted", "DecryptionInProgress"):
        return dict(result, changed=False)
    if check_mode:  # -WhatIf: ShouldProcess is false, Disable-BitLocker never runs
        return dict(result, changed=True)
    if locked:
        return _script_failed(result, "Disable-BitLocker : This drive is locked by BitLocker Drive Encryption.")
    vol["volume_status"] = "DecryptionInProgress"
    vol["protection_status"] = "Off"
    vol["key_protectors"] = []
    state.touch()
    return dict(result, changed=True)


def _script_failed(result: dict, message: str) -> dict:
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim import faults

    return dict(result, changed=False, failed=True, error=[faults.error_record(message, "ActionPreferenceStop")])
