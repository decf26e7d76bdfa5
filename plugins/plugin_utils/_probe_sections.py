# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one rule every Windows evaluator applies before it plans (internal, pure Python).

No state-changing step is ever planned from a probe section that is missing, errored or
implausibly empty: that is an ``error`` finding. "Implausibly empty" is data no working Windows
host returns: a services list without services (every Windows runs dozens, RpcSs among them), a
registry section without keys (the probe always lists every key it was asked for), a MachineKeys
ACL without an SDDL string. A section may legitimately be empty only where the spec says so
(``certificates_my``: a store without certificates; ``bitlocker.volumes`` when BitLocker is off).
"""

from __future__ import annotations

_RUNNING = ("running", "start_pending", "stop_pending", "paused")


def _services(value) -> str | None:
    if not isinstance(value, list):
        return "is not a list"
    if not value:
        return "lists no services (implausible on Windows: WMI or the Service Control Manager failed)"
    if not any(isinstance(s, dict) and s.get("name") for s in value):
        return "has no named service"
    if not any(isinstance(s, dict) and s.get("state") in _RUNNING for s in value):
        return "lists no running service (implausible on a running Windows host)"
    return None


def _registry(value) -> str | None:
    if not isinstance(value, dict) or not isinstance(value.get("keys"), dict):
        return "is not a mapping with keys"
    if not value["keys"]:
        return "lists no registry keys (the probe always reports every key it reads)"
    return None


def _machinekeys_acl(value) -> str | None:
    if not isinstance(value, dict):
        return "is not an object"
    if not isinstance(value.get("exists"), bool):
        return "does not say whether the directory exists"
    if value.get("exists") and not str(value.get("sddl") or "").strip():
        return "has no SDDL for an existing directory (the ACL could not be read)"
    return None


def _kind(kind):
    def check(value):
        return None if isinstance(value, kind) else f"is not {'a list' if kind is list else 'an object'}"

    return check


def _fields(**kinds):
    """An object whose fields have these kinds (a field read as null means the read failed)."""

    def check(value):
        if not isinstance(value, dict):
            return "is not an object"
        for field, kind in kinds.items():
            if not isinstance(value.get(field), kind):
                return f"has no readable {field}"
        return None

    return check


# Sections a working host may return empty (a store without certificates).
MAY_BE_EMPTY = frozenset({"certificates_my", "nics", "dns"})

CHECKS = {
    "services": _services,
    "registry": _registry,
    "machinekeys_acl": _machinekeys_acl,
    "vssadmin": _kind(dict),
    "agent": _fields(waappagent_exists=bool),
    "installer": _fields(vcredist_products=list, snapshot_plugins=list),
    "bitlocker": _fields(available=bool),
    "certificates_my": _kind(list),
    "extension_status": _kind(dict),
    "nics": _kind(list),
    "dns": _kind(list),
    "resources": _kind(dict),
    "events": _kind(dict),
}


def section_problem(probe, name: str) -> str | None:
    """Why section ``name`` of ``probe`` cannot be planned from, or None when it can."""
    if not isinstance(probe, dict):
        return "no Windows probe result to evaluate"
    errors = probe.get("section_errors") or {}
    if isinstance(errors, dict) and errors.get(name):
        return f"the probe's {name} section failed: {str(errors[name])[:500]}"
    if name not in probe or probe.get(name) is None:
        return f"the probe has no {name} section"
    problem = CHECKS.get(name, _kind((list, dict)))(probe[name])
    return f"the probe's {name} section {problem}" if problem else None


def require(probe, *names: str) -> str | None:
    """The first problem among sections ``names`` (the evaluator then returns an error finding)."""
    for name in names:
        problem = section_problem(probe, name)
        if problem:
            return problem
    return None


def service_errors(services, names) -> str | None:
    """Why services ``names`` (case-insensitive) cannot be planned from: one of them could not be read."""
    wanted = {str(n).lower() for n in names}
    for svc in services or []:
        if isinstance(svc, dict) and str(svc.get("name", "")).lower() in wanted and svc.get("error"):
            return f"service {svc.get('name')} could not be read: {str(svc['error'])[:300]}"
    return None


def runs_as(svc: dict, sid: str) -> bool:
    """The service logs on as ``sid``: by the SID the probe resolved on the host when there is one
    (localized names such as NT-AUTORITÄT\\NETZWERKDIENST), else by the well-known English names."""
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._sddl import same_account

    if svc.get("sid"):
        return str(svc["sid"]).upper() == sid.upper()
    return same_account(svc.get("username"), sid)
