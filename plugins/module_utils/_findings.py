# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The finding dict every evaluator returns (docs/architecture.md, "Finding") (internal).

In ``module_utils`` because the Linux modules build findings on the host; the controller-side
evaluators import it from here too, so there is one shape.
"""

from __future__ import annotations


def make_finding(code: str, status: str, detail: str, fix: str = "", actions: list | None = None) -> dict:
    """``{error_code, status, detail, fix, actions}``; ``status`` is fail, pass, not_applicable or error."""
    return {"error_code": code, "status": status, "detail": detail, "fix": fix, "actions": actions or []}


def probe_section(probe: object, name: str, code: str, kinds: tuple = (list, dict)) -> tuple:
    """``(data, None)`` for the probe's section ``name``, or ``(None, error finding naming it)``.

    ``probe`` is the Windows probe, or a Linux gather shaped the same (``{name: data}``).
    """
    if not isinstance(probe, dict):
        return None, make_finding(code, "error", "no Windows probe result to evaluate")
    errors = probe.get("section_errors") or {}
    if name in errors:
        return None, make_finding(code, "error", f"the probe's {name} section failed: {errors[name]}")
    data = probe.get(name)
    if not isinstance(data, kinds):
        return None, make_finding(code, "error", f"the probe has no {name} section")
    return data, None
