# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Attributes shared by every Windows fix: an action plugin that probes, plans on the controller
and drives ansible.windows modules. Each module still documents its own check_mode and diff_mode."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  probe:
    description:
      - The Windows probe already gathered for this host, as M(vmbackup.azure.backup_scan) returns it in
        C(probe). The fix plans from it instead of running its own probe, so it reads nothing remotely.
      - It is validated like a probe of its own; a missing, errored or implausibly empty section the fix
        plans from makes the task fail with an C(error) finding, never a plan.
      - Never shown in the task's C(invocation).
    type: dict
  verify:
    description:
      - With V(true) the fix probes again after its changes and fails if they did not take.
      - With V(false) it reports what it did (its C(after) is then predicted) and the caller verifies, for
        example C(playbooks/remediate.yml) with one final scan.
    type: bool
    default: true
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  platform:
    platforms: windows
"""

    # Result keys every Windows fix returns the same way (each module documents before/after/actions/detail).
    RETURN = r"""
changed:
  description: Whether the fix changed (or in check mode would change) the host.
  returned: always
  type: bool
after_predicted:
  description: Whether RV(after) is a prediction (check mode, or O(verify=false)).
  returned: success
  type: bool
verified:
  description: Whether the fix probed again after its changes (C(finding_after) is then set).
  returned: success
  type: bool
finding_after:
  description: The finding after the fix, probed again (only when something changed, O(verify=true) and not in check
    mode).
  returned: when verified
  type: dict
actions:
  description: The state-changing steps that ran (or would run, in check mode), in order.
  returned: success
  type: list
  elements: raw
detail:
  description: What is specific to this fix.
  returned: success
  type: dict
"""
