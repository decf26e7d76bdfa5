# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the user switched off, waived or selected with tags (internal, pure Python).

Read by the scan (``backup_scan``), the report (``backup_report``) and ``remediate.yml``
(through the ``backup_controls`` filter), so the three agree on every host.

- ``vmbackup_disabled_codes``: codes (aliases, numeric codes, role names) not to check nor fix.
- ``vmbackup_disable_<Code>: true`` or ``vmbackup_disable_<snake_case code>: true``: the same, one
  switch per code (the snake_case code is the fix role's name for codes with a role). A
  ``vmbackup_disable_*`` variable naming no code is refused, naming the variable.
- ``vmbackup_waivers`` and any variable named ``vmbackup_waivers_<suffix>`` (merged, so a group
  can add its own list without hiding the host's): ``[{code, reason, until?}]``. A waived code is
  still evaluated and reported with its real status and the waiver's reason, never fixed, and does
  not count as failing. A waiver past its ``until`` date is shown as expired and no longer applies.
- ``--tags`` / ``--skip-tags`` naming error codes select the codes (``ansible_run_tags`` /
  ``ansible_skip_tags``).
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.vmbackup.azure.plugins.module_utils._catalog import all_codes, lookup, snake_case

DISABLED_LIST_VAR = "vmbackup_disabled_codes"
DISABLE_VAR_PREFIX = "vmbackup_disable_"
_WAIVERS_RE = re.compile(r"^vmbackup_waivers(_[A-Za-z0-9_]+)?$")
_WAIVER_KEYS = {"code", "reason", "until"}


class ControlError(ValueError):
    """A switch or a waiver is malformed; the message names the variable."""


def var_lookup(host_vars):
    """``lookup_var(name)`` over a host's variables (a mapping): the value, or KeyError when unset."""

    def lookup_var(name):
        if name not in host_vars:
            raise KeyError(name)
        return host_vars[name]

    return lookup_var


def disable_var(code: str) -> str:
    """The per-code switch variable, e.g. ``vmbackup_disable_extension_failed_vss_writer_in_bad_state``."""
    return DISABLE_VAR_PREFIX + snake_case(lookup(code).code)


def _codes(value, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [part for part in re.split(r"[\s,]+", value) if part]
    if not isinstance(value, (list, tuple)):
        raise ControlError(f"{name} must be a list of error codes, got {type(value).__name__}")
    out = []
    for item in value:
        try:
            code = lookup(item).code
        except KeyError as exc:
            raise ControlError(f"{name}: {exc.args[0]}") from None
        if code not in out:
            out.append(code)
    return out


def _truthy(value, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("yes", "true", "on", "1", "no", "false", "off", "0", ""):
        return value.strip().lower() in ("yes", "true", "on", "1")
    if isinstance(value, int):
        return bool(value)
    raise ControlError(f"{name} must be a boolean, got {value!r}")


def switch_code(name: str) -> str:
    """The code a ``vmbackup_disable_<Code>`` or ``vmbackup_disable_<snake_case code>`` switch names.

    Raises ControlError naming the variable when the suffix is no error code.
    """
    suffix = name[len(DISABLE_VAR_PREFIX) :]
    try:
        return lookup(suffix).code  # the code, its snake_case (lookup ignores case and underscores), an alias
    except KeyError:
        raise ControlError(
            f"{name}: {suffix!r} is no error code; switch a code off with vmbackup_disable_<ErrorCode> "
            "(e.g. vmbackup_disable_ExtensionSnapshotFailedNoSecureNetwork) or vmbackup_disable_<snake_case code> "
            "(e.g. vmbackup_disable_extension_snapshot_failed_no_secure_network)"
        ) from None


def disabled_codes(lookup_var, var_names=None) -> list[str]:
    """Codes switched off for a host. ``lookup_var(name)`` returns a variable's value or raises KeyError.

    ``var_names``: the host's variable names; every ``vmbackup_disable_*`` among them is read (both
    spellings, ``<Code>`` and ``<snake_case code>``) and one naming no code raises ControlError.
    Without it, the two spellings of every code are looked up.
    """
    try:
        codes = _codes(lookup_var(DISABLED_LIST_VAR), DISABLED_LIST_VAR)
    except KeyError:
        codes = []
    if var_names is None:
        names = [prefix_name for code in all_codes() for prefix_name in (disable_var(code), DISABLE_VAR_PREFIX + code)]
    else:
        names = sorted(n for n in var_names if isinstance(n, str) and n.startswith(DISABLE_VAR_PREFIX))
    for name in names:
        code = switch_code(name)
        try:
            value = lookup_var(name)
        except KeyError:
            continue
        if _truthy(value, name) and code not in codes:
            codes.append(code)
    return codes


def _date(value, where: str):
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ControlError(f"{where}: until must be a date YYYY-MM-DD, got {value!r}") from None


def waivers(lookup_var, var_names, today: datetime.date | None = None) -> dict[str, dict]:
    """``{code: {reason, until, active, source}}`` from every ``vmbackup_waivers*`` variable of a host.

    ``var_names``: the host's variable names (only those matching ``vmbackup_waivers(_suffix)?`` are read).
    When two waivers name one code, an active one wins over an expired one, then the later until date.
    """
    today = today or datetime.datetime.now(datetime.UTC).date()
    out: dict[str, dict] = {}
    for name in sorted(n for n in var_names if isinstance(n, str) and _WAIVERS_RE.match(n)):
        try:
            value = lookup_var(name)
        except KeyError:
            continue
        if value is None:
            continue
        if not isinstance(value, (list, tuple)):
            raise ControlError(f"{name} must be a list of {{code, reason, until}} items, got {type(value).__name__}")
        for index, item in enumerate(value):
            where = f"{name}[{index}]"
            if not isinstance(item, dict):
                raise ControlError(f"{where} must be a dict with code and reason, got {type(item).__name__}")
            unknown = set(item) - _WAIVER_KEYS
            if unknown:
                raise ControlError(
                    f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; use code, reason, until"
                )
            reason = item.get("reason")
            if not isinstance(reason, str) or not reason.strip():
                raise ControlError(f"{where}: a waiver needs a reason (a non-empty string)")
            codes = _codes(item.get("code"), f"{where}.code")
            if not codes:
                raise ControlError(f"{where}: a waiver needs a code")
            until = _date(item.get("until"), where)
            waiver = {
                "reason": reason.strip(),
                "until": until.isoformat() if until else None,
                "active": until is None or until >= today,
                "source": name,
            }
            for code in codes:
                current = out.get(code)
                if current is None or _rank(waiver) > _rank(current):
                    out[code] = dict(waiver)
    return out


def _rank(waiver: dict) -> tuple:
    return (waiver["active"], waiver["until"] is None, waiver["until"] or "")


def controls(lookup_var, var_names, today: datetime.date | None = None) -> dict:
    """Everything the user set for a host: disabled codes, waivers, and the codes actively waived."""
    found = waivers(lookup_var, var_names, today)
    return {
        "disabled": disabled_codes(lookup_var, var_names),
        "waivers": found,
        "waived": [code for code, waiver in found.items() if waiver["active"]],
    }


def select_by_tags(codes, run_tags=None, skip_tags=None) -> list[str]:
    """Keep the codes ``--tags`` selects and ``--skip-tags`` does not drop (tags are the error codes).

    ``run_tags`` of ``['all']`` (Ansible's default), or containing ``all``/``tagged``, selects every code.
    """
    run = set(run_tags or ["all"])
    skip = set(skip_tags or [])
    if "tagged" in skip:
        return []
    selected = [c for c in codes if run & {"all", "tagged"} or c in run]
    return [c for c in selected if c not in skip]


def apply_waivers(findings: list[dict], found: dict[str, dict]) -> list[dict]:
    """Attach each code's waiver to its finding (copy)."""
    out = []
    for finding in findings:
        finding = dict(finding)
        waiver = found.get(finding.get("error_code"))
        if waiver:
            finding["waiver"] = {k: waiver[k] for k in ("reason", "until", "active")}
        out.append(finding)
    return out
