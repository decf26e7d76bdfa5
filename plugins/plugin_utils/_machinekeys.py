# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ExtensionConfigParsingFailure: the MachineKeys ACL and the extension certificates (pure Python).

Check: the security descriptor of ``%SystemDrive%\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys``
(probe section ``machinekeys_acl``, ``Get-Acl`` SDDL) against the default that Microsoft's own
diagnostic compares with (field-notes section 2, Azure/azure-support-scripts
``vmassist/windows/vmassist.ps1``): ``O:SYG:SYD:PAI(A;;0x12019f;;;WD)(A;;FA;;;BA)`` - owner SYSTEM,
inheritance disabled, Everyone 0x12019f (the eight special rights the doc lists, plus Synchronize),
BUILTIN\\Administrators full control, nothing else.

Fix (used by the ``machinekeys_acl`` action plugin and by the scan, so both say the same):
``ansible.windows.win_owner`` (owner SYSTEM), ``ansible.windows.win_acl_inheritance``
(``state: absent``, ``reorganize: false``: drops inherited entries), ``ansible.windows.win_acl``
(``state: absent`` for every other entry, then ``state: present`` for the two default entries,
``inherit: None``), then - only as part of that repair - ``ansible.windows.win_certificate_store``
``state: absent`` for every LocalMachine\\My certificate *issued to* (subject CN) one of
:data:`EXTENSION_CERT_NAMES`.

"Issued to the classic deployment model": the doc's text comes from an older version of the same
page (MicrosoftDocs azure-docs ``articles/backup/backup-azure-vms-troubleshoot.md``, 2017, e.g. the
zh-TW localization dated 04/24/2017) that said *Issued To = "Windows Azure Service Management for
Extensions" or "Windows Azure CRP Certificate Generator"*; Microsoft later renamed "Azure Service
Management" to "the classic deployment model" throughout its docs, which turned the certificate
name into prose. "Windows Azure Service Management for Extensions" is the certificate the classic
(cloud service) platform creates when an extension is added (Azure cloud services FAQ, "I have
expired certificates named Windows Azure Service Management for Extensions"). The certificate
manager's *Issued To* column is the subject's common name, so we match the subject CN exactly
(case-insensitive), never a substring and never the issuer.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ansible_collections.vmbackup.azure.plugins.module_utils._findings import make_finding
from ansible_collections.vmbackup.azure.plugins.plugin_utils._probe_sections import require
from ansible_collections.vmbackup.azure.plugins.plugin_utils._sddl import (
    FULL_CONTROL,
    SYNCHRONIZE,
    Ace,
    SddlError,
    account_name,
    canonical_order,
    describe_ace,
    file_rights_names,
    format_ace,
    format_sddl,
    format_sid,
    parse_sddl,
    with_dacl,
)

ERROR_CODE = "ExtensionConfigParsingFailure"
DEFAULT_SDDL = "O:SYG:SYD:PAI(A;;0x12019f;;;WD)(A;;FA;;;BA)"
CERT_STORE = "LocalMachine\\My"
EXTENSION_CERT_NAMES = ("Windows Azure Service Management for Extensions", "Windows Azure CRP Certificate Generator")
SYSTEM_SID = "S-1-5-18"
EVERYONE_SID = "S-1-1-0"
ADMINISTRATORS_SID = "S-1-5-32-544"
EVERYONE_RIGHTS = 0x12019F  # List folder/read data, Read (extended) attributes, Create files/write data,
# Create folders/append data, Write (extended) attributes, Read permissions, Synchronize
DEFAULT_ACES = (
    Ace(type="A", flags=frozenset(), mask=EVERYONE_RIGHTS, sid=EVERYONE_SID),
    Ace(type="A", flags=frozenset(), mask=FULL_CONTROL, sid=ADMINISTRATORS_SID),
)
_INHERIT = {frozenset(): "None", frozenset({"OI"}): "ObjectInherit", frozenset({"CI"}): "ContainerInherit"}
_INHERIT[frozenset({"OI", "CI"})] = "ContainerInherit, ObjectInherit"


def subject_cn(subject) -> str:
    """The CN of an X.500 name as Windows prints it (``CN=name, O=...``; quoted values allowed)."""
    m = re.search(r'(?:^|[,;+]\s*)CN=("(?:[^"]|"")*"|[^,;+]*)', str(subject or ""), re.IGNORECASE)
    if not m:
        return ""
    value = m.group(1).strip()
    if value.startswith('"') and value.endswith('"') and len(value) >= 2:
        value = value[1:-1].replace('""', '"')
    return value


def is_extension_certificate(cert: dict) -> bool:
    cn = subject_cn(cert.get("subject")).lower()
    return any(cn == name.lower() for name in EXTENSION_CERT_NAMES)


def _win_acl_args(path: str, ace: Ace, state: str) -> dict | None:
    """ansible.windows.win_acl arguments that match ``ace`` exactly, or None when win_acl cannot.

    win_acl builds a ``FileSystemAccessRule`` and only removes an entry equal to it (rights, type,
    SID, inheritance and propagation flags, not inherited). .NET's rule constructor adds
    Synchronize to allow rules and strips it from deny rules other than FullControl /
    FullControl-without-DeleteSubdirectoriesAndFiles, and accepts only FileSystemRights bits
    (no generic rights): an entry outside those rules can never be matched by win_acl.
    """
    if ace.type not in ("A", "D") or ace.object_guid or ace.inherit_object_guid or ace.extra or ace.inherited:
        return None
    rights = file_rights_names(ace.mask)
    if rights is None:
        return None
    if ace.type == "A" and not ace.mask & SYNCHRONIZE:
        return None
    if ace.type == "D" and ace.mask & SYNCHRONIZE and ace.mask not in (FULL_CONTROL, FULL_CONTROL & ~0x40):
        return None
    inherit = _INHERIT.get(frozenset(ace.flags & {"OI", "CI"}))
    rest = set(ace.flags) - {"OI", "CI"}
    if rest - {"IO", "NP"} or rest == {"IO", "NP"}:
        return None
    propagation = {"IO": "InheritOnly", "NP": "NoPropagateInherit"}.get(next(iter(rest), ""), "None")
    return {
        "path": path,
        "user": ace.sid,
        "type": "allow" if ace.type == "A" else "deny",
        "rights": rights,
        "inherit": inherit,
        "propagation": propagation,
        "state": state,
    }


def plan_machinekeys(acl: dict, certificates: list | None, options: dict | None = None) -> dict:
    """Plan the repair. ``acl`` is the probe's ``machinekeys_acl``; raises SddlError on bad SDDL."""
    options = dict(options or {})
    reset = bool(options.get("reset_acl", False))
    delete = bool(options.get("delete_certificates", False))
    path = str(acl.get("path") or "")
    sd = parse_sddl(acl.get("sddl"))
    dacl = tuple(sd.dacl or ())
    steps, manual, problems = [], [], []

    if sd.owner != SYSTEM_SID:
        problems.append(f"owner is {account_name(sd.owner) if sd.owner else 'not set'}, not NT AUTHORITY\\SYSTEM")
        steps.append(
            {"action": "set_owner", "module": "ansible.windows.win_owner", "args": {"path": path, "user": SYSTEM_SID}}
        )
    inherited = [a for a in dacl if a.inherited]
    if not sd.protected:
        problems.append("inheritance is enabled (the default DACL is protected)")
        steps.append(
            {
                "action": "disable_inheritance",
                "module": "ansible.windows.win_acl_inheritance",
                "args": {"path": path, "state": "absent", "reorganize": False},
                "drops": [format_ace(a) for a in inherited],
            }
        )
    for ace in dacl:
        if ace in DEFAULT_ACES:
            continue
        if ace.inherited and not sd.protected:
            problems.append(f"inherited entry {format_ace(ace)} ({describe_ace(ace)})")
            continue  # dropped with the inheritance
        problems.append(f"extra entry {format_ace(ace)} ({describe_ace(ace)})")
        args = _win_acl_args(path, ace, "absent")
        if args is None:
            sign = "d" if ace.type == "D" else "g"
            manual.append(
                {
                    "ace": format_ace(ace),
                    "description": describe_ace(ace),
                    "hint": f'icacls "{path}" /remove:{sign} *{ace.sid}',
                }
            )
            continue
        # .NET RemoveAccessRule only touches explicit entries of the same SID and type (win_acl.ps1
        # lines 272-276): only then can this removal strip rights from a default entry we keep.
        strips_default = any(d.sid == ace.sid and d.type == ace.type for d in DEFAULT_ACES)
        steps.append(
            {
                "action": "remove_ace",
                "module": "ansible.windows.win_acl",
                "args": args,
                "ace": format_ace(ace),
                "sid": ace.sid,
                "type": ace.type,
                "may_strip_default": strips_default,
            }
        )
    # A removal of the same SID and type may strip this default entry (RemoveAccessRule subtracts the
    # rights from every overlapping explicit entry of that SID): it is added again after the removals,
    # so the order of the steps cannot lose a default entry. When it was not stripped, win_acl
    # state=present finds it and changes nothing.
    stripped = {(st["sid"], st["type"]) for st in steps if st["action"] == "remove_ace"}
    for ace in DEFAULT_ACES:
        if ace not in dacl or (ace.sid, ace.type) in stripped:
            if ace not in dacl:
                problems.append(f"missing entry {format_ace(ace)} ({describe_ace(ace)})")
            args = _win_acl_args(path, ace, "present")
            steps.append(
                {
                    "action": "add_ace",
                    "module": "ansible.windows.win_acl",
                    "args": args,
                    "ace": format_ace(ace),
                    "readd": ace in dacl,  # present now, stripped by a removal of the same account
                }
            )

    group_note = ""
    if sd.group != SYSTEM_SID:
        group_note = (
            f"primary group is {account_name(sd.group) if sd.group else 'not set'} (default SYSTEM): reported only, no"
            " ansible.windows module sets a primary group and Windows ignores it for access checks"
        )

    acl_bad = bool(steps or manual)
    certs = [c for c in certificates or [] if isinstance(c, dict) and is_extension_certificate(c)]
    cert_steps = []
    if acl_bad:
        for cert in certs:
            cert_steps.append(
                {
                    "action": "delete_certificate",
                    "module": "ansible.windows.win_certificate_store",
                    "args": {
                        "thumbprint": str(cert.get("thumbprint", "")).upper(),
                        "store_location": "LocalMachine",
                        "store_name": "My",
                        "state": "absent",
                    },
                    "subject": str(cert.get("subject", "")),
                }
            )
    expected_flags = set(sd.dacl_flags) | {"P"}
    kept = [a for a in dacl if a in DEFAULT_ACES]
    predicted = with_dacl(sd, canonical_order(kept + [a for a in DEFAULT_ACES if a not in kept]), expected_flags)
    predicted = replace(predicted, owner=SYSTEM_SID)
    return {
        "path": path,
        "sddl": format_sddl(sd),
        "acl_bad": acl_bad,
        "problems": problems,
        "steps": steps,
        "manual": manual,
        "group_note": group_note,
        "extension_certificates": certs,
        "certificate_steps": cert_steps,
        "predicted_sddl": format_sddl(predicted) if not manual else "",
        "reset_allowed": reset and not manual,
        "delete_allowed": reset and delete and not manual,
        "reset_acl": reset,
        "delete_certificates": delete,
    }


def _step_text(step: dict) -> str:
    args = step["args"]
    if step["action"] == "set_owner":
        return "set the owner to NT AUTHORITY\\SYSTEM (win_owner)"
    if step["action"] == "disable_inheritance":
        drops = f", dropping {len(step['drops'])} inherited entries" if step["drops"] else ""
        return f"disable inheritance (win_acl_inheritance state=absent{drops})"
    verb = "remove" if step["action"] == "remove_ace" else "re-add" if step.get("readd") else "add"
    return (
        f"{verb} {step['ace']} (win_acl {args['type']} {format_sid(args['user'])} rights={args['rights']}"
        f" inherit={args['inherit']} propagation={args['propagation']} state={args['state']})"
        + (", as removing an entry of the same account strips it (RemoveAccessRule)" if step.get("readd") else "")
    )


def _actions(plan: dict) -> list[dict]:
    actions = []
    reason_acl = "" if plan["reset_allowed"] else "reset_acl not opted in"
    if plan["manual"]:
        reason_acl = "entries ansible.windows.win_acl cannot match must be removed by hand first"
    for step in plan["steps"]:
        action = {
            "action": step["action"],
            "path": plan["path"],
            "module": step["module"],
            "args": dict(step["args"]),
            "allowed": plan["reset_allowed"],
            "disruptive": True,
        }
        if not plan["reset_allowed"]:
            action["reason"] = reason_acl
        actions.append(action)
    for entry in plan["manual"]:
        actions.append(
            {
                "action": "remove_ace_by_hand",
                "path": plan["path"],
                "ace": entry["ace"],
                "hint": entry["hint"],
                "allowed": False,
                "disruptive": True,
                "reason": "ansible.windows.win_acl cannot match this entry (generic rights, a mask without"
                " Synchronize on an allow entry, object ACE or both InheritOnly and NoPropagateInherit)",
            }
        )
    for step in plan["certificate_steps"]:
        action = {
            "action": "delete_certificate",
            "store": CERT_STORE,
            "thumbprint": step["args"]["thumbprint"],
            "subject": step["subject"],
            "module": step["module"],
            "allowed": plan["delete_allowed"],
            "disruptive": True,
        }
        if not plan["delete_allowed"]:
            if not plan["delete_certificates"]:
                action["reason"] = "delete_certificates not opted in"
            else:
                action["reason"] = "certificates are deleted only together with the ACL repair (reset_acl)"
        actions.append(action)
    return actions


def _fix_text(plan: dict) -> str:
    parts = []
    if plan["steps"]:
        text = f"reset the MachineKeys ACL to {DEFAULT_SDDL}: " + "; ".join(_step_text(s) for s in plan["steps"])
        if not plan["reset_allowed"]:
            text = (
                "would "
                + text
                + " (not allowed: "
                + ("remove the entries below by hand first" if plan["manual"] else "set reset_acl")
                + ")"
            )
        parts.append(text)
    for entry in plan["manual"]:
        parts.append(f"remove {entry['ace']} by hand (win_acl cannot match it): {entry['hint']}")
    if plan["certificate_steps"]:
        certs = ", ".join(f"{s['args']['thumbprint']} ({s['subject']})" for s in plan["certificate_steps"])
        text = f"then delete from {CERT_STORE}: {certs}"
        if not plan["delete_allowed"]:
            why = "set delete_certificates" if not plan["delete_certificates"] else "needs reset_acl as well"
            text = "would " + text + f" (not allowed: {why})"
        parts.append(text)
    return "; ".join(parts)


def assess_machinekeys(probe: dict, options: dict | None = None):
    """``(finding, plan)``; plan is None on status error."""
    problem = require(probe, "machinekeys_acl", "certificates_my")
    if problem:
        return make_finding(ERROR_CODE, "error", problem), None
    acl = probe["machinekeys_acl"]
    if acl.get("exists") is False:
        return make_finding(ERROR_CODE, "error", f"MachineKeys directory not found: {acl.get('path')}"), None
    certs = probe.get("certificates_my") or []
    if not isinstance(certs, list):
        return make_finding(ERROR_CODE, "error", "probe section certificates_my is not a list"), None
    try:
        plan = plan_machinekeys(acl, certs, options)
    except SddlError as exc:
        return make_finding(
            ERROR_CODE, "error", f"could not parse the MachineKeys SDDL {acl.get('sddl')!r}: {exc}"
        ), None
    ext = plan["extension_certificates"]
    if not plan["acl_bad"]:
        detail = f"MachineKeys ACL is the default ({plan['sddl']})"
        if plan["group_note"]:
            detail += f"; {plan['group_note']}"
        if ext:
            detail += (
                f"; {len(ext)} extension certificate(s) in {CERT_STORE} left alone (deleted only as part of an ACL"
                " repair): " + ", ".join(str(c.get("thumbprint", "")).upper() for c in ext)
            )
        return make_finding(ERROR_CODE, "pass", detail), plan
    detail = f"MachineKeys ACL {plan['sddl']} differs from the default {DEFAULT_SDDL}: " + "; ".join(plan["problems"])
    if plan["group_note"]:
        detail += f"; {plan['group_note']}"
    detail += f"; extension certificates in {CERT_STORE}: " + (
        ", ".join(f"{str(c.get('thumbprint', '')).upper()} ({c.get('subject', '')})" for c in ext) if ext else "none"
    )
    return make_finding(ERROR_CODE, "fail", detail, _fix_text(plan), _actions(plan)), plan


def evaluate_machinekeys(probe: dict, options: dict | None = None) -> dict:
    """The ExtensionConfigParsingFailure finding. ``options``: ``reset_acl``, ``delete_certificates``."""
    return assess_machinekeys(probe, options)[0]
