#!/usr/bin/python
# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a documentation stub: the work is done by the action plugin plugins/action/windows_probe_capture.py.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: windows_probe_capture
short_description: Capture the read-only Windows probe of a host, sanitized, as a simulator fixture
version_added: 0.1.0
description:
  - Runs the read-only probe the scan and every Windows fix use (one M(ansible.windows.win_powershell) run, every
    section, also in check mode) and returns it as a capture that the Windows simulator loads as a host
    (C(vmbackup_winsim_state) may name the capture file), so a real server becomes a regression fixture.
  - The probe reads no secret. The capture still cuts event messages to their first line and keeps only the status
    fields of the VMSnapshot C(.status) file.
  - C(playbooks/capture.yml) runs it and writes one file per host; docs/simulator.md says how to contribute one.
options:
  anonymize:
    description:
      - Replace the computer name (everywhere in the capture), certificate thumbprints, subjects and issuers (except
        the well-known Azure extension certificate names) and IPv4 addresses by stable hashes.
    type: bool
    default: false
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.flow
attributes:
  check_mode:
    support: full
    details: Read-only; runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: windows
  action:
    support: full
  bypass_host_loop:
    support: none
  async:
    support: none
seealso:
  - module: vmbackup.azure.backup_scan
author:
  - vmbackup.azure contributors (@vmbackup)
"""

EXAMPLES = r"""
- name: Capture the probe of a Windows VM, computer name and thumbprints hashed
  vmbackup.azure.windows_probe_capture:
    anonymize: true
  register: probe_capture
"""

RETURN = r"""
capture:
  description: The capture (C(capture), C(version), C(anonymized), C(probe) - the probe object as the scan reads it).
  returned: success
  type: dict
  sample: {"capture": "vmbackup.azure.windows_probe_capture", "version": 1, "anonymized": true,
           "probe": {"probe": "vmbackup.azure.windows_probe", "computer_name": "HOST-1A2B3C4D", "services": []}}
"""
