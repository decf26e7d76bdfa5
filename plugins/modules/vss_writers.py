#!/usr/bin/python
# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a documentation stub: the work is done by the action plugin plugins/action/vss_writers.py.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: vss_writers
short_description: Keep the VSS writers of a Windows guest stable (ExtensionFailedVssWriterInBadState)
version_added: 0.1.0
description:
  - Lists the VSS writers (C(vssadmin list writers)) and the services of a Windows host with one
    read-only M(ansible.windows.win_powershell) probe that also runs in check mode.
  - Every writer whose state is not C([1]) (stable) is mapped to the service that hosts it, by writer id
    first and by name (case-insensitive) second, and that service is restarted with
    M(ansible.windows.win_service) (O(restart=true) only). Several writers hosted by one service cause one restart.
  - After restarting, the writers are listed again; writers that are still not stable fail the task.
  - The writer to service map only holds rows that several public sources agree on. A failed writer
    without a trusted row is reported in RV(detail.unmapped_writers), never guessed; add rows with
    O(extra_writer_services).
  - Output is parsed on structure, so every Windows display language works.
  - This is the fix for the Azure Backup error C(ExtensionFailedVssWriterInBadState).
options:
  restart:
    description:
      - Restart the services that host writers which are not stable.
      - When V(false) the module only reports what it would restart (RV(not_allowed)) and changes nothing.
    type: bool
    default: false
  allowed_services:
    description:
      - The services the module may restart (case-insensitive).
      - When not set, every non-disruptive service of the built-in map (C(CryptSvc), C(Winmgmt), C(VSS),
        C(BITS), C(EventSystem), C(SQLWriter), C(WIDWriter), C(srmsvc)) and of O(extra_writer_services).
      - Services that run production workloads (for example C(MSExchangeIS), C(vmms), C(IISADMIN), C(DFSR))
        are disruptive and only restarted when listed here.
      - When set, exactly these services may be restarted.
    type: list
    elements: str
  extra_writer_services:
    description:
      - Additional writer to service rows. They take precedence over the built-in map.
      - Each row needs O(extra_writer_services[].service) and O(extra_writer_services[].name)
        or O(extra_writer_services[].writer_id).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The writer name as printed by C(vssadmin) (case-insensitive).
        type: str
      writer_id:
        description: The writer id GUID, with or without braces.
        type: str
      service:
        description: The name of the service that hosts the writer.
        type: str
        required: true
      disruptive:
        description:
          - Whether restarting the service interrupts a workload.
          - Defaults to the built-in flag of O(extra_writer_services[].service), V(true) for a service the built-in
            map does not know (never restarted unless listed in O(allowed_services) or marked V(false) here).
        type: bool
  force_dependent_services:
    description:
      - Also restart running services that depend on a service to restart.
      - When V(false) a service with running dependents is not restarted and is reported in RV(not_allowed).
    type: bool
    default: false
  settle_timeout:
    description:
      - After restarting services, how many seconds to keep probing (every 5 s) until their writers report
        stable again; writers re-register within seconds of a service restart, not at once.
      - Writers still not stable then fail the task.
    type: int
    default: 30
  waiting_recheck:
    description:
      - Writers in states 2-5 (waiting for freeze, thaw, post snapshot, backup complete) are a snapshot in
        progress, Azure Backup's own included; their services are never restarted on one probe.
      - With a value above 0, probe again after this many seconds; writers still in the same waiting state
        (and no VMSnapshot operation C(transitioning)) count as stuck and their services may be restarted.
      - While the VMSnapshot extension reports a running operation nothing is restarted at all.
    type: int
    default: 0
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.flow
  - vmbackup.azure.windows_fix
attributes:
  check_mode:
    support: full
    details: The probe runs in check mode; restarts are passed to M(ansible.windows.win_service) in check mode.
  diff_mode:
    support: full
    details: Shows the writer states before and after (predicted in check mode).
notes:
  - Restarting services on many hosts at once can hurt; use O(restart) with C(serial) or C(throttle)
    to spread restarts across the fleet.
  - Restarting C(VSS) resets every writer it hosts.
  - The writer to service map follows public community sources (sysadmin256/VSSAdmin, rayjette/IT-Scripts,
    thekamilpro/tools); contested rows (Certificate Authority, NTDS, MSSearch Service Writer) and rows with a
    single or no source (VSS Metadata Store Writer, Task Scheduler Writer, Performance Counters Writer) are
    not mapped.
seealso:
  - module: ansible.windows.win_service
  - module: ansible.windows.win_powershell
  - plugin: vmbackup.azure.parse_vss_writers
    plugin_type: filter
author:
  - vmbackup.azure contributors (@vmbackup)
"""

EXAMPLES = r"""
- name: ExtensionFailedVssWriterInBadState | report writers that are not stable
  vmbackup.azure.vss_writers:
  register: vss

- name: ExtensionFailedVssWriterInBadState | restart the services of failed writers
  vmbackup.azure.vss_writers:
    restart: true
  throttle: 5

- name: ExtensionFailedVssWriterInBadState | also allow Hyper-V, and map a writer the built-in table leaves out
  vmbackup.azure.vss_writers:
    restart: true
    allowed_services: [CryptSvc, Winmgmt, VSS, vmms, Schedule]
    extra_writer_services:
      - name: Task Scheduler Writer
        service: Schedule
"""

RETURN = r"""
extends_documentation_fragment:
- vmbackup.azure.windows_fix
finding:
  description: The ExtensionFailedVssWriterInBadState finding before any change, as the scan reports it.
  returned: always
  type: dict
  sample:
    error_code: ExtensionFailedVssWriterInBadState
    status: fail
    detail: '1 writer not stable: ''System Writer'' [8] Timed out'
    fix: restart CryptSvc (hosts 'System Writer')
    actions:
    - action: restart_service
      service: CryptSvc
      writers:
      - System Writer
      allowed: true
      disruptive: false
      dependents: []
before:
  description:
  - What the fix reads before any change (fix-specific shape, see below).
  - 'For this fix: The writers listed before any change.'
  returned: success
  type: list
  sample:
  - name: System Writer
    writer_id: e8132975-6f93-4464-a53e-1050253ae220
    instance_id: eb6b4c30-aa48-486a-9618-0d1934d180ca
    state: 8
    last_error: Timed out
  elements: dict
  contains:
    name:
      description: Writer name.
      type: str
    writer_id:
      description: Writer id (lowercase GUID without braces).
      type: str
    instance_id:
      description: Writer instance id (lowercase GUID without braces).
      type: str
    state:
      description: C(VSS_WRITER_STATE) number, C(1) is stable.
      type: int
    last_error:
      description: Last error as printed (localized).
      type: str
after:
  description:
  - 'The same after the fix: probed again when O(verify=true),'
  - else (and in check mode) predicted, see C(after_predicted).
  - 'For this fix: The writers after the restarts, listed again on the host. Without restarts, the same as RV(before).
    In check mode, the predicted states (see C(after_predicted)).'
  returned: success
  type: list
  elements: dict
actions:
  description:
  - The state-changing steps that ran (or would run, in check mode), in order.
  - 'For this fix: The services restarted (in check mode, that would be restarted).'
  returned: success
  type: list
  elements: str
  sample:
  - CryptSvc
not_allowed:
  description:
    - Restarts the plan wanted but that were not done, with the reason.
    - A writer with no trusted service mapping is listed with C(service) null (reported, never guessed).
  returned: success
  type: list
  elements: dict
  sample:
  - service: MSExchangeIS
    writers:
    - Microsoft Exchange Writer
    disruptive: true
    reason: 'disruptive service: restarted only when listed in allowed_services'
detail:
  contains:
    unmapped_writers:
      description: Writers that are not stable and have no trusted service row (reported, never guessed).
      returned: success
      type: list
      elements: dict
    missing_services:
      description: Mapped services that are not installed on the host (not restarted).
      returned: success
      type: list
      elements: dict
"""
