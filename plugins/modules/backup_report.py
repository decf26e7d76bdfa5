#!/usr/bin/python
# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a documentation stub: the work is done by the action plugin of the same name.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_report
short_description: Write the fleet's Azure Backup findings as one JSON report on the controller
version_added: 0.1.0
description:
  - Collects the registered results of M(vmbackup.azure.backup_scan) for a list of hosts and writes
    one JSON report (schema C(docs/schemas/report.schema.json), C(schema_version) 1) on the controller.
  - A host without a result (unreachable, or failed before the scan) is reported as such, never dropped.
  - Returns a short fixed-width table for the terminal.
  - Writing the report is a controller-side side effect and is not counted as a change; run the task
    with C(check_mode=false) inside a check-mode scan.
options:
  hosts:
    description: Every host the report must account for, in report order.
    type: list
    elements: str
    required: true
  results:
    description:
      - Host name to registered M(vmbackup.azure.backup_scan) result. Hosts missing here are reported as unreachable.
      - When omitted, each host's variable named by O(result_var) is read from C(hostvars).
    type: dict
  result_var:
    description: The variable each host registered its scan result in, read when O(results) is omitted.
    type: str
    default: vmbackup_scan_result
  path:
    description: Where to write the JSON report; parent directories are created.
    type: path
    required: true
  mode:
    description: Which run produced the results.
    type: str
    default: scan
    choices: [scan, remediate, triage]
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.flow
attributes:
  check_mode:
    support: none
    details: Writes a file on the controller; run it with C(check_mode=false).
  diff_mode:
    support: none
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  platform:
    platforms: [posix]
author:
  - vmbackup.azure maintainers (@vmbackup)
"""

EXAMPLES = r"""
- name: Write the scan report
  vmbackup.azure.backup_report:
    hosts: "{{ ansible_play_hosts_all }}"
    result_var: vmbackup_scan_result
    path: reports/scan.json
  run_once: true
  delegate_to: localhost
  check_mode: false
"""

RETURN = r"""
path:
  description: Absolute path of the written report.
  returned: success
  type: str
summary:
  description: Host and finding counts.
  returned: success
  type: dict
table:
  description: The terminal table, one line per host.
  returned: success
  type: list
  elements: str
report:
  description: The report as written.
  returned: success
  type: dict
"""
