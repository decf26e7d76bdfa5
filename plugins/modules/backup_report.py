#!/usr/bin/python
# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a documentation stub: the work is done by the action plugin of the same name.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_report
short_description: Write the fleet's Azure Backup findings as JSON, JUnit XML and HTML reports on the controller
version_added: 0.1.0
description:
  - Collects the registered results of M(vmbackup.azure.backup_scan) for a list of hosts and writes
    one JSON report (schema C(docs/schemas/report.schema.json), C(schema_version) 2) on the controller,
    and with O(dir) a JUnit XML file and an HTML page next to it.
  - Honours the waivers each host holds (C(vmbackup_waivers)); a waived finding keeps its status, carries
    C(waiver.reason) and does not count as failing; switched-off codes are listed per host (C(disabled)).
  - A host without a result (unreachable, or failed before the scan) is reported as such, never dropped.
  - Returns a short fixed-width table for the terminal.
  - Writing the report is a controller-side side effect and is not counted as a change; run the task
    with C(check_mode=false) inside a check-mode scan.
options:
  hosts:
    description:
      - Every host the report must account for, in report order. Required unless O(merge) is given.
      - With O(merge), the order of the merged report; a host no slice reported is listed without a result.
    type: list
    elements: str
  merge:
    description:
      - Merge mode, for a sliced job (AWX job slicing, one report per slice) -- the JSON reports of the slices
        to merge into one fleet report, written in every format asked for. The summary is counted again, so
        the result is the report of the fleet scanned at once.
      - The slices must agree on O(mode), language and check mode; a host in two slices fails.
      - O(results), O(result_var), O(fix_results), O(triage) and O(language) are not used.
    type: list
    elements: path
    version_added: 0.1.0
  results:
    description:
      - Host name to registered M(vmbackup.azure.backup_scan) result. Hosts missing here are reported as unreachable.
      - When omitted, each host's variable named by O(result_var) is read from C(hostvars).
    type: dict
  result_var:
    description: The variable each host registered its scan result in, read when O(results) is omitted.
    type: str
    default: vmbackup_scan_result
  fix_results:
    description:
      - Build each host's result from the registered result of every fix role (C(<role>_result), its
        C(finding) and C(changed)) and the failures recorded in O(failures_var), as
        C(playbooks/remediate.yml) leaves them.
      - Defaults to V(true) when O(mode=remediate) and O(results) is omitted.
    type: bool
  failures_var:
    description: The host variable (a dict code to message) where C(remediate.yml) records the fixes that failed.
    type: str
    default: vmbackup_remediate_failures
  scan_vars:
    description:
      - Host variables holding a registered M(vmbackup.azure.backup_scan) result, newest first; the first one
        set (and not skipped) is the host's latest scan. With O(fix_results), codes whose fix role did not run
        on a host are reported from it, and a fixed code it still finds failing (or in error) keeps that status.
      - C(playbooks/remediate.yml) registers the scan it decides from as C(vmbackup_remediate_scan) and the
        verify scan after the fixes as C(vmbackup_remediate_verify).
    type: list
    elements: str
    default: [vmbackup_remediate_verify, vmbackup_remediate_scan]
  check:
    description:
      - The results come from a C(--check) run; no finding is reported as changed and the fix texts
        say what would change.
    type: bool
    default: false
  path:
    description:
      - Where to write the JSON report; parent directories are created.
      - One of O(path) and O(dir) is required.
    type: path
  dir:
    description:
      - The directory for every report format, named C(vmbackup-<mode>.json), C(vmbackup-<mode>.junit.xml)
        and C(vmbackup-<mode>.html); created when missing. With O(path) too, the JSON goes to O(path).
    type: path
  formats:
    description:
      - Which files to write. C(json) is the report (schema C(docs/schemas/report.schema.json)), C(junit) is JUnit XML
        (one test case per host and error code; fail is a failure, error an error, not applicable, waived and
        switched-off codes are skipped), C(html) a self-contained page (inline CSS, no script, no external asset).
      - Default all three with O(dir), C(json) with only O(path).
    type: list
    elements: str
    choices: [json, junit, html]
  language:
    description:
      - Language of the fixed texts of the HTML page, the JUnit messages and the terminal table, and of the
        Microsoft documentation links (C(doc_url)). The findings' C(detail) and C(fix) stay in English.
      - Accepts C(en), C(zh-TW) (also written C(zh_tw)).
    type: str
    default: en
  mode:
    description: Which run produced the results.
    type: str
    default: scan
    choices: [scan, remediate, triage]
  triage:
    description:
      - Triage only (C(playbooks/triage.yml)) -- the job source and the jobs that were not mapped to a host,
        had no known code, or were skipped, written as the report's top-level C(triage) object.
      - A host's C(job) (the failed Azure Backup job that named its codes) is read from its result.
    type: dict
  fail_on:
    description:
      - Which outcome the returned RV(verdict) names, for a later task that ends the run with a non-zero
        exit status (C(vmbackup_fail_on) in the playbooks). The report is written in every case.
      - V(error) -- a host was unreachable, could not be fully checked, or a fix failed (an error outranks
        a change). V(fail) -- that, or a host would fail backup. V(never) -- neither.
      - A report of no host at all always has a verdict (a run that matched no host is never a clean fleet).
    type: str
    default: never
    choices: [fail, error, never]
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
- name: Write JSON, JUnit XML and HTML into one directory, in Traditional Chinese
  vmbackup.azure.backup_report:
    hosts: "{{ ansible_play_hosts_all }}"
    dir: reports/scan
    language: zh-TW
  run_once: true
  delegate_to: localhost
  check_mode: false
  register: report

- name: Show the summary as AWX job artifacts
  ansible.builtin.set_stats:
    data:
      vmbackup_scan: "{{ report.stats }}"
    per_host: false

- name: Write the scan report
  vmbackup.azure.backup_report:
    hosts: "{{ ansible_play_hosts_all }}"
    result_var: vmbackup_scan_result
    path: reports/scan.json
  run_once: true
  delegate_to: localhost
  check_mode: false

- name: Merge the reports of the slices of a sliced scan into one fleet report
  vmbackup.azure.backup_report:
    merge:
      - /shared/reports/slice-1/vmbackup-scan.json
      - /shared/reports/slice-2/vmbackup-scan.json
    hosts: "{{ query('ansible.builtin.inventory_hostnames', 'all') }}"
    dir: /shared/reports/fleet
  check_mode: false
"""

RETURN = r"""
path:
  description: Absolute path of the written JSON report (empty when no JSON was written).
  returned: success
  type: str
paths:
  description: Absolute path of every written file, by format (C(json), C(junit), C(html)).
  returned: success
  type: dict
stats:
  description:
    - A compact summary (counts, per-host failing/error/waived/changed codes, file paths) for
      M(ansible.builtin.set_stats).
  returned: success
  type: dict
summary:
  description: Host and finding counts.
  returned: success
  type: dict
table:
  description: The terminal table, one line per host.
  returned: success
  type: list
  elements: str
verdict:
  description:
    - Why the run should exit non-zero under O(fail_on), or an empty string. See the C(vmbackup_fail_on)
      variable of the playbooks.
  returned: success
  type: str
report:
  description: The report as written.
  returned: success
  type: dict
"""
