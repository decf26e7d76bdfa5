# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A capture from a real host (playbooks/capture.yml) as a simulated host.

``vmbackup_winsim_state`` may name a capture file: it is loaded as a host state whose ``replay`` is the
captured probe, so a scan answers *exactly* what the real host answered (every section it captured,
section errors included). The state model is filled from the capture as far as it can express it
(services, VSS writers parsed from the captured vssadmin text with the trusted writer -> service map,
registry keys, the MachineKeys ACL, LocalMachine\\My, BitLocker volumes), so remediation works on it:
once an emulation has changed the host (the state was saved), the sections the model covers are
rendered from the model and the others still replay (``replay_stale``). What the model cannot
express (a localized vssadmin text after a change is rendered in our approximation of that
language) is said in docs/simulator.md.
"""

from __future__ import annotations

from ansible_collections.vmbackup.azure.plugins.plugin_utils._capture import CAPTURE_NAME
from ansible_collections.vmbackup.azure.plugins.plugin_utils._registry import normalize_data
from ansible_collections.vmbackup.azure.plugins.plugin_utils._vss import (
    VssParseError,
    lookup_service,
    parse_vss_writers,
)

# Probe sections the state model renders itself once the replayed host was changed.
MODELED = frozenset({"services", "vssadmin", "registry", "machinekeys_acl", "certificates_my", "bitlocker"})
_STATES = ("running", "stopped", "start_pending", "stop_pending", "paused")
_ERRORS = ("No error", "Retryable error", "Non-retryable error", "Not responding", "Timed out")
MACHINEKEYS = "C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys"


def is_capture(data) -> bool:
    return isinstance(data, dict) and data.get("capture") == CAPTURE_NAME


def _services(probe) -> dict:
    out = {}
    for svc in probe.get("services") or []:
        if not isinstance(svc, dict) or not svc.get("name"):
            continue
        mode = svc.get("start_mode") or "manual"
        mode = "delayed" if mode == "auto" and svc.get("delayed_autostart") else mode
        out[str(svc["name"])] = {
            "display_name": svc.get("display_name") or svc["name"],
            "state": svc.get("state") if svc.get("state") in _STATES else "stopped",
            "start_mode": mode if mode in ("auto", "delayed", "manual", "disabled") else "auto",
            "username": svc.get("username") or "LocalSystem",
            "dependencies": list(svc.get("dependencies") or []),
        }
    return out


def _writers(probe) -> list:
    vss = probe.get("vssadmin") or {}
    try:
        writers = parse_vss_writers(vss.get("stdout") or "") if vss.get("rc") == 0 else []
    except VssParseError:
        writers = []
    out = []
    for w in writers:
        row = lookup_service(w)
        error = (
            w.get("last_error") if w.get("last_error") in _ERRORS else ("No error" if w["state"] == 1 else "Timed out")
        )
        entry = {k: w[k] for k in ("name", "writer_id", "instance_id", "state")}
        entry["last_error"] = error
        if row:
            entry["service"] = row["service"]
        out.append(entry)
    return out


def _registry(probe) -> dict:
    out = {}
    for path, entry in ((probe.get("registry") or {}).get("keys") or {}).items():
        if not isinstance(entry, dict) or not entry.get("exists"):
            continue
        out[path] = {
            name: {"type": v.get("type", "string"), "data": normalize_data(v.get("type", "string"), v.get("data"))}
            for name, v in (entry.get("values") or {}).items()
            if isinstance(v, dict)
        }
    return out


def state_from_capture(capture: dict) -> dict:
    """A simulator host state (plugins/plugin_utils/_winsim/state.py) from a capture."""
    probe = dict(capture.get("probe") or {})
    state = {
        "hostname": str(probe.get("computer_name") or "CAPTURED"),
        "locale": str(probe.get("locale") or "en-US"),
        "services": _services(probe),
        "vss_writers": _writers(probe),
        "registry": _registry(probe),
        "replay": probe,
    }
    acl = probe.get("machinekeys_acl")
    if isinstance(acl, dict) and acl.get("exists") and acl.get("sddl"):
        state["acls"] = {MACHINEKEYS: {"sddl": acl["sddl"]}}
    if isinstance(probe.get("certificates_my"), list):
        state["certificates"] = {"LocalMachine\\My": [dict(c) for c in probe["certificates_my"] if isinstance(c, dict)]}
    bitlocker = probe.get("bitlocker")
    if isinstance(bitlocker, dict) and bitlocker.get("available"):
        state["bitlocker_volumes"] = [dict(v) for v in bitlocker.get("volumes") or [] if isinstance(v, dict)]
        state["azure_disk_encryption"] = bool(bitlocker.get("azure_disk_encryption"))
    return state


def replayed(state, name: str):
    """``(True, value, error)`` when section ``name`` is answered from the capture, else ``(False, None, None)``."""
    probe = state.data.get("replay")
    if not isinstance(probe, dict):
        return False, None, None
    if state.data.get("replay_stale") and name in MODELED:
        return False, None, None
    errors = probe.get("section_errors") or {}
    if name in errors:
        return True, None, errors[name]
    if name in probe:
        return True, probe[name], None
    return False, None, None
