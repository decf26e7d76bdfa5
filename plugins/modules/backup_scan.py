#!/usr/bin/python
# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a documentation stub: the work is done by the action plugin of the same name.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_scan
short_description: Check one VM for the causes of Azure Backup failures, without changing anything
version_added: 0.1.0
description:
  - Gathers everything the checks need in B(one) remote execution per host (Windows hosts run
    one read-only PowerShell probe through M(ansible.windows.win_powershell); Linux hosts run
    M(vmbackup.azure.linux_backup_facts)), then decides every check in Python on the controller.
  - Returns one finding per selected error code with C(status) V(fail), V(pass),
    V(not_applicable) or V(error), why (C(detail)) and what the matching fix role would change (C(fix)).
  - The fix tasks (for example M(vmbackup.azure.vss_writers), M(vmbackup.azure.ext_filesystems)) use
    the same evaluation code, so a scan and C(remediate.yml --check) agree.
  - Windows or Linux is told from the connection's shell (PowerShell means Windows), so no extra
    task is needed to find out.
  - Honours the host's switches and waivers. Codes in C(vmbackup_disabled_codes) or with
    C(vmbackup_disable_<snake_case code>=true) are not evaluated. A code waived in C(vmbackup_waivers)
    (or any C(vmbackup_waivers_<suffix>)) is evaluated and its finding carries C(waiver); a malformed
    waiver fails the task, naming the variable, before the host is contacted.
  - C(--tags) and C(--skip-tags) naming error codes select the codes too (tag the task V(always)).
options:
  codes:
    description:
      - Error codes (or aliases, or numeric codes) to check. Empty means every code the collection checks.
      - An unknown code fails the task and lists the valid ones.
    type: list
    elements: str
    default: []
  options:
    description:
      - By default each check reads the variables of its fix role (for example
        C(extension_failed_vss_writer_in_bad_state_restart)) from the host's variables, with the
        role's defaults, so the scan reports what the role would do on that host.
      - Values given here override them. Keys are error codes; values are dicts of the fix's options.
      - V(ExtensionFailedVssWriterInBadState) takes C(restart), C(allowed_services),
        C(extra_writer_services) (see M(vmbackup.azure.vss_writers)).
      - V(UserErrorFsFreezeFailed) takes C(repair), C(mounts), C(exclude) (see M(vmbackup.azure.ext_filesystems)).
    type: dict
    default: {}
  return_probe:
    description:
      - Also return the gathered data (RV(probe)), for C(playbooks/remediate.yml) to hand to the fix roles.
      - Off by default, as at fleet scale a registered probe per host costs memory and report time.
    type: bool
    default: false
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.flow
attributes:
  check_mode:
    support: full
    details: The scan never changes anything; it is meant to run with C(check_mode=true).
  diff_mode:
    support: none
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  platform:
    platforms: [windows, posix]
author:
  - vmbackup.azure maintainers (@vmbackup)
seealso:
  - module: vmbackup.azure.backup_report
  - module: vmbackup.azure.vss_writers
  - module: vmbackup.azure.ext_filesystems
"""

EXAMPLES = r"""
- name: Scan for every known cause of Azure Backup failures
  vmbackup.azure.backup_scan:
  check_mode: true
  register: vmbackup_scan_result

- name: Scan VSS writers only, reporting what a restart-enabled fix would do
  vmbackup.azure.backup_scan:
    codes: [ExtensionFailedVssWriterInBadState]
    options:
      ExtensionFailedVssWriterInBadState:
        restart: true
  check_mode: true
"""

RETURN = r"""
os_family:
  description: V(windows) or V(linux), from the connection's shell.
  returned: always
  type: str
findings:
  description: One finding per selected error code.
  returned: always
  type: list
  elements: dict
  contains:
    error_code:
      description: The catalog's error code.
      type: str
    status:
      description: V(fail), V(pass), V(not_applicable) or V(error).
      type: str
    detail:
      description: Why, in words.
      type: str
    fix:
      description: What the fix would change; empty when nothing.
      type: str
    actions:
      description: The fix's planned steps, each with whether the user allowed it.
      type: list
      elements: dict
    doc_url:
      description: The Microsoft troubleshooting section for the code.
      type: str
    waiver:
      description: The host's waiver for the code (C(reason), C(until), C(active)); absent when none.
      type: dict
      returned: when the code is waived
failing:
  description: The error codes whose status is V(fail), without those under an active waiver.
  returned: always
  type: list
  elements: str
fixable:
  description:
    - The codes of RV(failing) whose planned fix has a step the host's variables allow (an action with
      C(allowed) true), that is the fix roles that would change something. C(playbooks/remediate.yml) runs only these.
    - A code whose plan is the same as an earlier listed code's is left out (the four VM agent codes share one
      check), as its role would only repeat the same steps.
  returned: always
  type: list
  elements: str
probe:
  description:
    - The data every finding was decided from, gathered in the one remote execution. Windows the probe
      object of C(docs/architecture.md) (C(ansible.windows.win_powershell) output); Linux the
      C(vmbackup_linux) facts of M(vmbackup.azure.linux_backup_facts); empty when no selected check
      concerns the host's OS.
    - C(playbooks/remediate.yml) hands it to the fix roles (C(vmbackup_probe)) so they do not probe again.
  returned: when O(return_probe) is true and the gather succeeded
  type: dict
disabled:
  description: The codes switched off for this host (not evaluated).
  returned: always
  type: list
  elements: str
remote_executions:
  description: How many remote module executions the scan made on this host (0 or 1).
  returned: always
  type: int
"""
