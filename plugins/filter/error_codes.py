# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the error-code catalog (documentation: the .yml files beside this one)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.vmbackup.azure.plugins.module_utils._catalog import implemented_codes, lookup, normalize_codes


def normalize_error_codes(value):
    """Codes, aliases, numeric codes or role names -> canonical codes (order kept, duplicates dropped)."""
    try:
        return normalize_codes(value)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


def error_code_roles(value, implemented_only=True):
    """Codes -> names of the roles that fix them (implemented roles only unless told otherwise)."""
    result = []
    for code in normalize_error_codes(value):
        entry = lookup(code)
        if not entry.role or (implemented_only and not entry.implemented):
            continue
        if entry.role not in result:
            result.append(entry.role)
    return result


def fix_roles(value):
    """Codes -> [{code, role, os}] of the implemented fix roles; an empty input means every implemented code."""
    codes = normalize_error_codes(value) if value else implemented_codes()
    plan = []
    for code in codes:
        entry = lookup(code)
        if entry.role and entry.implemented:
            plan.append({"code": entry.code, "role": entry.role, "os": list(entry.os)})
    return plan


class FilterModule:
    def filters(self):
        return {
            "normalize_error_codes": normalize_error_codes,
            "error_code_roles": error_code_roles,
            "fix_roles": fix_roles,
        }
