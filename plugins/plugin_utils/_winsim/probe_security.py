# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probe sections ``machinekeys_acl``, ``certificates_my`` and ``bitlocker`` rendered from the state.

- ``machinekeys_acl``: ``acls[<MachineKeys path>].sddl`` (what ``Get-Acl`` prints). Assumption:
  ``%SystemDrive%`` is ``C:``. A path missing from ``acls`` (and from ``files``) does not exist.
- ``certificates_my``: the ``certificates`` entries of ``LocalMachine\\My`` (``thumbprint``,
  ``subject``, ``issuer`` (default: the subject), ``not_after`` from ``not_after``,
  ``valid_to_iso8601`` or ``valid_to``, printed like .NET's round-trip format ``'o'``).
- ``bitlocker``: ``bitlocker_volumes``; without that key in the state the BitLocker cmdlets are
  absent (``available: false``: the feature is not installed, the Windows Server default).
  Only the documented ``Get-BitLockerVolume`` properties are rendered, never the simulated
  volume's ``recovery_password``.
"""

from __future__ import annotations

import re

from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim import faults

MACHINEKEYS_PATH = "C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys"
MY_STORE = "LocalMachine\\My"


def _norm(path: str) -> str:
    return str(path).replace("/", "\\").rstrip("\\").lower()


def find_acl(state, path: str) -> tuple[str, dict] | None:
    """The ``acls`` entry of ``path`` (case-insensitive), as ``(key, entry)``."""
    target = _norm(path)
    for key, entry in (state.data.get("acls") or {}).items():
        if _norm(key) == target and isinstance(entry, dict):
            return key, entry
    return None


ACL_DENIED = "Attempted to perform an unauthorized operation."  # Get-Acl's UnauthorizedAccessException


def machinekeys_acl(state, text: str = "") -> dict:
    found = find_acl(state, MACHINEKEYS_PATH)
    if found is None:
        return {"path": MACHINEKEYS_PATH, "exists": False, "sddl": None}
    if faults.access_denied(state, MACHINEKEYS_PATH):
        # Get-Acl writes a non-terminating error: with -ErrorAction Stop the section throws; without it
        # the pipeline yields nothing and [string]$null is '' (an empty SDDL).
        if "-ErrorAction Stop" in text:
            raise faults.SectionError(ACL_DENIED)
        return {"path": MACHINEKEYS_PATH, "exists": True, "sddl": ""}
    return {"path": MACHINEKEYS_PATH, "exists": True, "sddl": str(found[1].get("sddl") or "")}


machinekeys_acl.takes_text = True


def store_certificates(state, store: str = MY_STORE) -> list:
    """The list object of ``store`` in the state (an empty list when absent)."""
    stores = state.data.get("certificates") or {}
    want = store.lower()
    short = want.split("\\", 1)[1] if "\\" in want else want
    for key, entries in stores.items():
        if str(key).lower() in (want, short) and isinstance(entries, list):
            return entries
    return []


def _round_trip(value) -> str | None:
    """``2027-01-01T00:00:00Z`` -> ``2027-01-01T00:00:00.0000000Z`` (DateTime.ToString('o'), UTC)."""
    if value is None:
        return None
    text = str(value)
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]00:00)?", text)
    if not m:
        return text
    return f"{m.group(1)}.{(m.group(2) or '').ljust(7, '0')[:7]}Z"


def certificates_my(state) -> list[dict]:
    out = []
    for cert in store_certificates(state):
        if not isinstance(cert, dict):
            continue
        subject = str(cert.get("subject", ""))
        out.append(
            {
                "thumbprint": str(cert.get("thumbprint", "")).upper(),
                "subject": subject,
                "issuer": str(cert.get("issuer", subject)),
                "not_after": _round_trip(cert.get("not_after") or cert.get("valid_to_iso8601") or cert.get("valid_to")),
            }
        )
    return out


def bitlocker(state) -> dict:
    volumes = state.data.get("bitlocker_volumes")
    if volumes is None:
        return {"available": False, "volumes": []}
    out = []
    for vol in volumes:
        if not isinstance(vol, dict):
            continue
        out.append(
            {
                "mount_point": str(vol.get("mount_point", "")),
                "volume_type": str(vol.get("volume_type", "Data")),
                "lock_status": str(vol.get("lock_status", "Unlocked")),
                "volume_status": str(vol.get("volume_status", "FullyDecrypted")),
                "protection_status": str(vol.get("protection_status", "Off")),
                "encryption_percentage": vol.get("encryption_percentage", 0),
                "key_protectors": [str(k) for k in vol.get("key_protectors") or []],
            }
        )
    return {"available": True, "volumes": out, "azure_disk_encryption": bool(state.data.get("azure_disk_encryption"))}


RENDERERS = {
    "machinekeys_acl": machinekeys_acl,
    "certificates_my": certificates_my,
    "bitlocker": bitlocker,
}
