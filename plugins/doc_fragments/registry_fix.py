# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the three registry fixes (dotnet_strong_crypto, bcdr_agent_keys, bcdr_vss_copy_backup) share: one probe,
a plan of values, M(ansible.windows.win_regedit) per value that differs (plugins/plugin_utils/_registry_fix.py)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  apply:
    description:
      - Set the values that differ.
      - When V(false) the module only reports what it would set (C(not_allowed) in the result) and changes nothing.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    details: >-
      The probe runs in check mode; each value is passed to M(ansible.windows.win_regedit), which reports
      the change and writes nothing in check mode.
  diff_mode:
    support: full
    details: Shows each value that changes, before and after.
seealso:
  - module: ansible.windows.win_regedit
  - module: ansible.windows.win_powershell
"""

    RETURN = r"""
before:
  description: What the fix reads before any change (fix-specific shape, see below).
  returned: success
  type: raw
after:
  description: 'The same after the fix: probed again when O(verify=true), else (and in check mode) predicted, see
    C(after_predicted).'
  returned: success
  type: raw
actions:
  description:
  - The state-changing steps that ran (or would run, in check mode), in order.
  - The values set (in check mode, that would be set), each with its value before. C(current) is
    V(null) when the value (or its key) did not exist.
  returned: success
  type: list
  elements: dict
not_allowed:
  description: Values that differ but were not set because O(apply=false).
  returned: success
  type: list
  elements: dict
detail:
  contains:
    changed_keys:
      description: The registry keys in which a value was set (in check mode, would be set).
      returned: success
      type: list
      elements: str
"""
