# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for vmbackup.azure.windows_probe_capture: run the read-only Windows probe (every section,
the scan's parameters) and return it sanitized as a capture (plugins/plugin_utils/_capture.py)."""

from __future__ import annotations

from ansible_collections.vmbackup.azure.plugins.plugin_utils._capture import sanitize
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_fix import WindowsFixAction

ARGUMENT_SPEC = {"anonymize": {"type": "bool", "default": False}}


class ActionModule(WindowsFixAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)
    PROBE_SECTIONS = ()  # every section

    def fix(self, task_vars, args):
        return {"capture": sanitize(self.probe(task_vars), anonymize=args["anonymize"])}

    def standard(self, out):  # not a fix: only the capture
        return {"changed": False, **out}
