# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Base of the com_services, machinekeys_acl and bitlocker_volumes action plugins (internal).

All of the read -> decide -> act skeleton lives in ``_windows_fix.WindowsFixAction`` (the one base of
the Windows fixes); this keeps the call shape these three plugins use: ``module(name, args,
task_vars, secret=False)`` returns the module result (a secret call runs with ``_ansible_no_log`` and
its result is scrubbed).
"""

from __future__ import annotations

from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_fix import (
    NO_LOG_MARK,
    ResultError,
    WindowsFixAction,
    display,
)

__all__ = ["NO_LOG_MARK", "ResultError", "SecurityFixAction", "display"]  # what the action plugins import


class SecurityFixAction(WindowsFixAction):
    """Subclasses set ``ARGUMENT_SPEC``, ``PROBE_SECTIONS`` and implement ``fix(task_vars, args)``."""

    def module(self, name: str, args: dict, task_vars: dict, secret: bool = False) -> dict:
        return self.run_module(name, args, task_vars, secret=secret)
