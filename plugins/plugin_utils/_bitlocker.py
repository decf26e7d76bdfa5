# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ExtensionSnapshotBitlockerError: volumes locked by BitLocker (pure Python).

Check: the probe's ``bitlocker`` section (``Get-BitLockerVolume`` objects: ``MountPoint``,
``LockStatus``, ``VolumeStatus``, ``ProtectionStatus``, ...). A volume whose ``LockStatus`` is
``Locked`` makes VSS fail ("This drive is locked by BitLocker Drive Encryption"); an unlocked
encrypted volume does not, so only locked volumes fail the check. No BitLocker cmdlets on the host
(the BitLocker feature is not installed, the default on Windows Server) = not applicable.

Fix (only on explicit opt-in; the doc's "turn off BitLocker on all drives" lowers security):

- ``unlock``: ``manage-bde -unlock <volume> -RecoveryPassword <password>`` with the volume's
  recovery password from ``recovery_passwords`` (a secret: never logged, never returned);
- ``decrypt``: unlock first (needs the password too), then ``manage-bde -off <volume>``.

community.windows has no BitLocker module (checked: community.windows 3.3.0 and ansible.windows
3.8.0 as installed), and PowerShell we write stays read-only, so the steps run through
``ansible.windows.win_command`` (skipped in check mode: the plan says what would run).
"""

from __future__ import annotations

import re

from ansible_collections.vmbackup.azure.plugins.module_utils._findings import make_finding
from ansible_collections.vmbackup.azure.plugins.plugin_utils._probe_sections import require

ERROR_CODE = "ExtensionSnapshotBitlockerError"
LOCKED = "locked"
# 48 digits in 8 blocks of 6; every block is a multiple of 11 below 720896 (BitLocker recovery
# password format), so a typo fails here, before anything runs on the host.
_RECOVERY_RE = re.compile(r"^[0-9]{6}(?:-[0-9]{6}){7}$")
_DRIVE_RE = re.compile(r"^([A-Za-z]):\\?$")


class RecoveryPasswordError(ValueError):
    """A recovery password entry is malformed; the message names the volume, never the value."""


def normalize_mount_point(mount) -> str:
    """``d:``, ``D:\\`` -> ``D:``; volume GUID paths are kept (case-insensitive compare)."""
    text = str(mount or "").strip()
    m = _DRIVE_RE.match(text)
    if m:
        return m.group(1).upper() + ":"
    return text


def recovery_password_problem(password) -> str | None:
    """Why ``password`` is not a BitLocker recovery password (never quoting it), or None."""
    if not isinstance(password, str) or not _RECOVERY_RE.match(password.strip()):
        return "must be 48 digits in 8 blocks of 6 separated by '-'"
    for block in password.strip().split("-"):
        value = int(block)
        if value % 11 or value >= 720896:
            return "is not a valid recovery password (every block must be a multiple of 11 below 720896)"
    return None


def normalize_recovery_passwords(passwords) -> dict:
    """``{mount point: password}`` normalized; raise :class:`RecoveryPasswordError` naming the key."""
    if passwords in (None, ""):
        return {}
    if not isinstance(passwords, dict):
        raise RecoveryPasswordError("recovery_passwords must be a mapping of volume (e.g. 'D:') to recovery password")
    out = {}
    for mount, password in passwords.items():
        key = normalize_mount_point(mount)
        if not key:
            raise RecoveryPasswordError("recovery_passwords has an empty volume name")
        problem = recovery_password_problem(password)
        if problem:
            raise RecoveryPasswordError(f"recovery_passwords[{key}] {problem}")
        out[key] = password.strip()
    return out


def _volume_text(vol: dict) -> str:
    return (
        f"{vol.get('mount_point')} ({vol.get('volume_type') or 'volume'}, {vol.get('volume_status')},"
        f" protection {vol.get('protection_status')})"
    )


def is_locked(vol: dict) -> bool:
    return str(vol.get("lock_status") or "").lower() == LOCKED


def plan_bitlocker(volumes: list, options: dict | None = None) -> dict:
    """Actions for the locked volumes. ``recovery_passwords`` must already be normalized."""
    options = dict(options or {})
    unlock = bool(options.get("unlock", False))
    decrypt = bool(options.get("decrypt", False))
    passwords = options.get("recovery_passwords") or {}
    ade = options.get("azure_disk_encryption")  # None: unknown, treated as "managed by Azure"
    have = {normalize_mount_point(k) for k in passwords}
    locked = [v for v in volumes if isinstance(v, dict) and is_locked(v)]
    actions = []
    for vol in locked:
        mount = normalize_mount_point(vol.get("mount_point"))
        has_password = mount in have
        wanted = unlock or decrypt
        action = {
            "action": "unlock_volume",
            "mount_point": mount,
            "command": f"Unlock-BitLocker -MountPoint {mount} -RecoveryPassword <recovery password of {mount}>",
            "allowed": wanted and has_password,
            "disruptive": True,
        }
        if not wanted:
            action["reason"] = "unlock not opted in"
        elif not has_password:
            action["reason"] = f"no recovery password given for {mount} (recovery_passwords)"
        actions.append(action)
        off = {
            "action": "turn_off_bitlocker",
            "mount_point": mount,
            "command": f"Disable-BitLocker -MountPoint {mount}",
            "allowed": decrypt and has_password and ade is False,
            "disruptive": True,
        }
        if ade is None and decrypt:
            off["reason"] = "the probe cannot tell whether Azure Disk Encryption manages the volumes"
        elif ade and decrypt:
            off["reason"] = (
                "Azure Disk Encryption manages this VM's volumes: turn encryption off through Azure"
                " (Disable-AzVMDiskEncryption / az vm encryption disable), never on the guest"
            )
        elif not decrypt:
            off["reason"] = "decrypt not opted in (turning BitLocker off lowers security)"
        elif not has_password:
            off["reason"] = f"the volume must be unlocked first: no recovery password given for {mount}"
        actions.append(off)
    return {"locked": locked, "actions": actions}


def _fix_text(plan: dict) -> str:
    parts = []
    for action in plan["actions"]:
        verb = "unlock" if action["action"] == "unlock_volume" else "turn off BitLocker on"
        text = f"{verb} {action['mount_point']} ({action['command']})"
        if not action["allowed"]:
            text = f"would {text} (not allowed: {action['reason']})"
        parts.append(text)
    return "; ".join(parts)


def assess_bitlocker(probe: dict, options: dict | None = None):
    """``(finding, plan)``; plan is None unless the check ran (pass or fail)."""
    problem = require(probe, "bitlocker")
    if problem:
        return make_finding(ERROR_CODE, "error", problem), None
    section = probe["bitlocker"]
    if not section.get("available"):
        return make_finding(
            ERROR_CODE, "not_applicable", "BitLocker is not installed on this host (no Get-BitLockerVolume)"
        ), None
    volumes = section.get("volumes") or []
    if not isinstance(volumes, list):
        return make_finding(ERROR_CODE, "error", "probe section bitlocker.volumes is not a list"), None
    ade = section.get("azure_disk_encryption")
    plan = plan_bitlocker(volumes, dict(options or {}, azure_disk_encryption=ade if isinstance(ade, bool) else None))
    if not plan["locked"]:
        listed = ", ".join(_volume_text(v) for v in volumes if isinstance(v, dict)) or "no volumes"
        return make_finding(ERROR_CODE, "pass", f"no volume locked by BitLocker: {listed}"), plan
    count = len(plan["locked"])
    detail = f"{count} volume{'s' if count != 1 else ''} locked by BitLocker: " + ", ".join(
        _volume_text(v) for v in plan["locked"]
    )
    return make_finding(ERROR_CODE, "fail", detail, _fix_text(plan), plan["actions"]), plan


def evaluate_bitlocker(probe: dict, options: dict | None = None) -> dict:
    """The ExtensionSnapshotBitlockerError finding.

    ``options``: ``unlock``, ``decrypt``, ``recovery_passwords`` (only whether a volume has one is
    used; a malformed entry makes the finding an error that names the volume, not the value).
    """
    options = dict(options or {})
    try:
        options["recovery_passwords"] = normalize_recovery_passwords(options.get("recovery_passwords"))
    except RecoveryPasswordError as exc:
        return make_finding(ERROR_CODE, "error", f"invalid option: {exc}")
    return assess_bitlocker(probe, options)[0]
