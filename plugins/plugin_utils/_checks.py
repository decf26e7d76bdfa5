# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which evaluator decides which error code, and what each needs gathered.

Internal to vmbackup.azure: the scan (``backup_scan``) and the fix tasks share these
evaluators, so a scan and ``remediate.yml --check`` can't disagree.
"""

from __future__ import annotations

import functools
import os

import yaml
from ansible_collections.vmbackup.azure.plugins.module_utils._catalog import lookup
from ansible_collections.vmbackup.azure.plugins.module_utils._extfs import evaluate_extfs
from ansible_collections.vmbackup.azure.plugins.module_utils._vss import evaluate_vss

# error code -> (os family the check runs on, evaluator(gathered facts, options) -> finding)
CHECKS: dict[str, tuple[str, object]] = {
    "ExtensionFailedVssWriterInBadState": ("windows", evaluate_vss),
    "UserErrorFsFreezeFailed": ("linux", evaluate_extfs),
}


ROLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")


@functools.cache
def role_options(role: str) -> dict[str, object]:
    """The role's variables, without the role prefix, with their defaults (from meta/argument_specs.yml)."""
    path = os.path.join(ROLES_DIR, role, "meta", "argument_specs.yml")
    with open(path, encoding="utf-8") as handle:
        specs = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    prefix = role + "_"
    return {name[len(prefix) :]: spec.get("default") for name, spec in specs.items() if name.startswith(prefix)}


def options_from_vars(code: str, lookup_var) -> dict:
    """The fix role's settings for ``code``, as the role would see them.

    ``lookup_var(name)`` returns the templated value of a variable or raises KeyError when unset,
    so the scan reports what the role would do with the same inventory variables.
    """
    role = lookup(code).get("role")
    if not role or not os.path.isdir(os.path.join(ROLES_DIR, role)):
        return {}
    options = {}
    for option, default in role_options(role).items():
        try:
            options[option] = lookup_var(f"{role}_{option}")
        except KeyError:
            options[option] = default
    return options


def checks_for(codes: list[str] | None) -> dict[str, tuple[str, object]]:
    """The checks to run for ``codes`` (canonical codes or aliases; None = every check)."""
    if not codes:
        return dict(CHECKS)
    selected = {}
    for code in codes:
        canonical = lookup(code)["code"]
        if canonical in CHECKS:
            selected[canonical] = CHECKS[canonical]
    return selected


def not_applicable(code: str, os_family: str) -> dict:
    return {
        "error_code": code,
        "status": "not_applicable",
        "detail": f"{code} concerns {CHECKS[code][0]} guests; this host is {os_family}",
        "fix": "",
        "actions": [],
    }


def evaluation_error(code: str, exc: Exception) -> dict:
    return {
        "error_code": code,
        "status": "error",
        "detail": f"could not evaluate {code}: {exc}",
        "fix": "",
        "actions": [],
    }


def evaluate(codes: dict, os_family: str, gathered: dict, options: dict) -> list[dict]:
    """Run every selected check on one host's gathered facts."""
    findings = []
    for code, (family, evaluator) in codes.items():
        if family != os_family:
            findings.append(not_applicable(code, os_family))
            continue
        try:
            finding = evaluator(gathered, dict(options.get(code) or {}))
        except Exception as exc:  # an evaluator bug must not hide the other findings
            finding = evaluation_error(code, exc)
        finding.setdefault("error_code", code)
        findings.append(finding)
    return findings
