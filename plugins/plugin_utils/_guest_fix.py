# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Base of the windows_guest_agent and windows_installer action plugins (internal to vmbackup.azure).

All of the read -> decide -> act skeleton lives in ``_windows_fix.WindowsFixAction`` (the one base of
the Windows fixes); this keeps the call shape these two plugins use: ``module(task_vars, name, args,
what, out)`` fails the task naming ``what`` and keeping ``out`` when the module fails.
"""

from __future__ import annotations

from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_fix import (
    ResultError,
    WindowsFixAction,
    display,
)

__all__ = ["GuestFixAction", "ResultError", "display"]  # what the action plugins import


class GuestFixAction(WindowsFixAction):
    """Subclasses set ``ARGUMENT_SPEC``, ``PROBE_SECTIONS`` and implement ``check_args`` and ``fix``."""

    def module(self, task_vars, name: str, args: dict, what: str, out: dict) -> dict:
        """Run a Windows module; a failure fails the task naming ``what``, keeping ``out``."""
        module_result = self.run_module(name, args, task_vars)
        if module_result.get("failed"):
            msg = module_result.get("msg") or f"{name} failed"
            raise ResultError(f"failed to {what}: {msg}", **out)
        return module_result
