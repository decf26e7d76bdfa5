# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection plugin: a simulated Windows host answering from a YAML state file."""

from __future__ import annotations

DOCUMENTATION = r"""
name: winsim
short_description: Simulated Windows host for tests and demos (no Windows needed)
description:
  - Makes an inventory host answer like a Windows VM reached over PSRP/WinRM, from a YAML state
    file, for tests and demos. Nothing reaches a real host.
  - Modules run through the PowerShell exec wrapper as usual; the plugin recognises the module
    in the exec manifest, validates the arguments against the installed module documentation
    (like C(Ansible.Basic)), honours check mode, and emulates the module on the state.
  - Emulated modules are C(ansible.windows.win_ping), C(win_service), C(win_service_info),
    C(win_regedit), C(win_reg_stat), C(win_stat), C(win_certificate_info), C(win_command),
    C(win_shell) (a small whitelist, for example C(vssadmin list writers), C(msdtc), C(manage-bde)),
    C(win_acl), C(win_acl_inheritance), C(win_owner), C(win_certificate_store) (C(state=absent)),
    C(win_powershell) (only the vmbackup.azure probe script) and
    C(community.windows.win_file_version). Anything else fails with a clear message.
  - The state file is written atomically (temp file and rename), never in check mode and never
    when nothing changed. Every module run appends one JSON line to the log file
    (C(host), C(module), C(check_mode), C(changed), C(failed), C(time)); module arguments are
    never logged.
  - See C(docs/simulator.md) in the collection for the state model and the assumptions made.
author: vmbackup.azure contributors (@vmbackup)
version_added: 0.1.0
options:
  remote_addr:
    description:
      - The name of the simulated host, as written to the execution log.
    type: str
    default: inventory_hostname
    vars:
      - name: inventory_hostname
  vmbackup_winsim_state:
    description:
      - Path of the YAML file holding the simulated host's state.
    type: path
    required: true
    vars:
      - name: vmbackup_winsim_state
  vmbackup_winsim_log:
    description:
      - Path of the JSON-lines execution log.
      - Defaults to the state path with C(.log.jsonl) appended.
    type: path
    vars:
      - name: vmbackup_winsim_log
"""

import os  # noqa: E402 (Ansible puts DOCUMENTATION first)

from ansible.errors import AnsibleError  # noqa: E402
from ansible.plugins.connection import ConnectionBase  # noqa: E402
from ansible.utils.display import Display  # noqa: E402
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim import runner  # noqa: E402

display = Display()


class Connection(ConnectionBase):
    """Answer ``exec_command`` like a Windows host would, from the state file."""

    transport = "vmbackup.azure.winsim"
    module_implementation_preferences = (".ps1", ".exe", "")
    allow_executable = False
    has_pipelining = True
    always_pipeline_modules = True  # every module run arrives as one exec_command with its manifest

    def __init__(self, *args, **kwargs):
        self._shell_type = "powershell"
        super().__init__(*args, **kwargs)

    def _paths(self) -> tuple[str, str]:
        state = self.get_option("vmbackup_winsim_state")
        if not state:
            raise AnsibleError("winsim: set vmbackup_winsim_state to the path of the host's state file")
        log = self.get_option("vmbackup_winsim_log") or f"{state}.log.jsonl"
        return os.path.abspath(os.path.expanduser(state)), os.path.abspath(os.path.expanduser(log))

    def _connect(self):
        if not self._connected:
            self._paths()  # fail early on a missing option
            display.vvv("WINSIM CONNECT", host=self.get_option("remote_addr"))
            self._connected = True
        return self

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        state, log = self._paths()
        host = self.get_option("remote_addr") or self._play_context.remote_addr or ""
        display.vvv(f"WINSIM EXEC (state {state})", host=host)
        return runner.execute(cmd, in_data, state, log, host)

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        raise AnsibleError(f"winsim: file transfer is not simulated (put {in_path} -> {out_path})")

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        raise AnsibleError(f"winsim: file transfer is not simulated (fetch {in_path} -> {out_path})")

    def close(self):
        self._connected = False
