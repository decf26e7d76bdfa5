# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which evaluator decides which error code, and what each needs gathered.

Internal to vmbackup.azure: the scan (``backup_scan``) and the fix tasks share these
evaluators, so a scan and ``remediate.yml --check`` can't disagree.
"""

from __future__ import annotations

import os

from ansible_collections.vmbackup.azure.plugins.module_utils._catalog import lookup
from ansible_collections.vmbackup.azure.plugins.module_utils._extension_status import evaluate_extension_status
from ansible_collections.vmbackup.azure.plugins.module_utils._findings import make_finding
from ansible_collections.vmbackup.azure.plugins.module_utils._linux_agent import AGENT_CODES as LINUX_AGENT_CODES
from ansible_collections.vmbackup.azure.plugins.module_utils._linux_agent import evaluator_for as linux_agent_evaluator
from ansible_collections.vmbackup.azure.plugins.module_utils._linux_conditions import (
    evaluate_linux_dhcp,
    evaluate_linux_dns,
    evaluate_linux_extension_status,
    evaluate_linux_resources,
)
from ansible_collections.vmbackup.azure.plugins.module_utils._linux_fs import evaluate_extfs
from ansible_collections.vmbackup.azure.plugins.module_utils._secpolicy import evaluate_secpolicy
from ansible_collections.vmbackup.azure.plugins.module_utils._vmbackup_conf import evaluate_vmbackup_conf
from ansible_collections.vmbackup.azure.plugins.plugin_utils._bitlocker import evaluate_bitlocker
from ansible_collections.vmbackup.azure.plugins.plugin_utils._com import evaluate_com
from ansible_collections.vmbackup.azure.plugins.plugin_utils._machinekeys import evaluate_machinekeys
from ansible_collections.vmbackup.azure.plugins.plugin_utils._registry import (
    evaluate_bcdr_agent_keys,
    evaluate_bcdr_vss_copy_backup,
    evaluate_dotnet_strong_crypto,
)
from ansible_collections.vmbackup.azure.plugins.plugin_utils._role_vars import ROLES_DIR, role_vars
from ansible_collections.vmbackup.azure.plugins.plugin_utils._vss import evaluate_vss
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_agent import AGENT_CODES, evaluator_for
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_conditions import (
    CONDITION_OPTIONS,
    evaluate_backup_events,
    evaluate_dhcp,
    evaluate_dns,
    evaluate_resources,
)
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_installer import evaluate_installer

# error code -> (os family the check runs on, evaluator(gathered facts, options) -> finding)
CHECKS: dict[str, tuple[str, object]] = {
    "ExtensionFailedVssWriterInBadState": ("windows", evaluate_vss),
    "UserErrorFsFreezeFailed": ("linux", evaluate_extfs),
    "UserErrorVmNotInDesirableState": ("linux", evaluate_secpolicy),
    "ExtensionSnapshotFailedNoSecureNetwork": ("windows", evaluate_dotnet_strong_crypto),
    "ExtensionFailedTimeoutVMNetworkUnresponsive": ("windows", evaluate_bcdr_agent_keys),
    "SqlServerSnapshotDelay": ("windows", evaluate_bcdr_vss_copy_backup),
    "ExtensionVCRedistInstallationFailure": ("windows", evaluate_installer),
    "ExtensionSnapshotFailedCOM": ("windows", evaluate_com),
    "ExtensionConfigParsingFailure": ("windows", evaluate_machinekeys),
    "ExtensionSnapshotBitlockerError": ("windows", evaluate_bitlocker),
    # one agent check, four codes (plugins/plugin_utils/_windows_agent.py); Linux: register_check(code, "linux", ...)
    **{code: ("windows", evaluator_for(code)) for code in AGENT_CODES},
    # report-only conditions (plugins/plugin_utils/_windows_conditions.py, module_utils/_extension_status.py)
    "GuestDhcpDisabled": ("windows", evaluate_dhcp),
    "AzureEndpointUnreachable": ("windows", evaluate_dns),
    "HighResourceUsage": ("windows", evaluate_resources),
    "OtherBackupProductFailing": ("windows", evaluate_backup_events),
    "SnapshotExtensionLoadFailed": ("windows", evaluate_extension_status),
}


def options_from_vars(code: str, lookup_var) -> dict:
    """The fix role's settings for ``code``, as the role would see them.

    ``lookup_var(name)`` returns the templated value of a variable or raises KeyError when unset,
    so the scan reports what the role would do with the same inventory variables. The role's
    variables are typed through the role's own argument spec (``_role_vars.role_vars``: a string
    ``"false"`` is false, as in the role); a value that does not fit raises RoleVarsError.
    """
    role = lookup(code).get("role")
    if code in CONDITION_OPTIONS:  # report-only conditions: options from vmbackup_* variables
        options = {}
        for option, (var, default) in CONDITION_OPTIONS[code].items():
            try:
                options[option] = lookup_var(var)
            except KeyError:
                options[option] = default
        return options
    if not role or not os.path.isdir(os.path.join(ROLES_DIR, role)):
        return {}
    return role_vars(role, lookup_var)


def families(spec) -> dict[str, object]:
    """``{os family: evaluator}`` of a CHECKS value.

    A value is ``(family, evaluator)`` for a code checked on one OS, or a dict ``{family: evaluator}``
    for a code checked on Windows and Linux with different gathered data (add the second family with
    ``register_check``).
    """
    if isinstance(spec, dict):
        return dict(spec)
    family, evaluator = spec
    return {family: evaluator}


def register_check(code: str, family: str, evaluator) -> None:
    """Add ``family``'s evaluator of ``code`` to CHECKS, keeping an evaluator another OS registered."""
    current = families(CHECKS[code]) if code in CHECKS else {}
    current[family] = evaluator
    CHECKS[code] = current if len(current) > 1 else (family, evaluator)


# Linux evaluators: vmbackup.conf, the Azure Linux agent (four codes), report-only conditions.
register_check("ExtensionFailedSnapshotLimitReachedError", "linux", evaluate_vmbackup_conf)
for _code in LINUX_AGENT_CODES:
    register_check(_code, "linux", linux_agent_evaluator(_code))
register_check("GuestDhcpDisabled", "linux", evaluate_linux_dhcp)
register_check("AzureEndpointUnreachable", "linux", evaluate_linux_dns)
register_check("HighResourceUsage", "linux", evaluate_linux_resources)
register_check("SnapshotExtensionLoadFailed", "linux", evaluate_linux_extension_status)


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
    return make_finding(
        code,
        "not_applicable",
        f"{code} concerns {' and '.join(sorted(families(CHECKS[code])))} guests; this host is {os_family}",
    )


def evaluation_error(code: str, exc: Exception) -> dict:
    return make_finding(code, "error", f"could not evaluate {code}: {exc}")


def evaluate(codes: dict, os_family: str, gathered: dict, options: dict) -> list[dict]:
    """Run every selected check on one host's gathered facts."""
    findings = []
    for code, spec in codes.items():
        evaluator = families(spec).get(os_family)
        if evaluator is None:
            findings.append(not_applicable(code, os_family))
            continue
        try:
            finding = evaluator(gathered, dict(options.get(code) or {}))
        except Exception as exc:  # an evaluator bug must not hide the other findings
            finding = evaluation_error(code, exc)
        finding.setdefault("error_code", code)
        findings.append(finding)
    return findings
