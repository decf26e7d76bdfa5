# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for vmbackup.azure.backup_report: write the fleet report on the controller."""

from __future__ import annotations

import json
import os
import tempfile

from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible_collections.vmbackup.azure.plugins.plugin_utils._report import build_report, table

ARGUMENT_SPEC = {
    "hosts": {"type": "list", "elements": "str", "required": True},
    "results": {"type": "dict"},
    "result_var": {"type": "str", "default": "vmbackup_scan_result"},
    "path": {"type": "path", "required": True},
    "mode": {"type": "str", "default": "scan", "choices": ["scan", "remediate", "triage"]},
}

VERSION = "0.1.0"


def _write_atomic(path: str, text: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".report-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        results = args["results"]
        if results is None:
            # Read each host's registered scan result; hosts that never ran the scan have none.
            hostvars = (task_vars or {}).get("hostvars", {})
            results = {}
            for host in args["hosts"]:
                if host in hostvars:
                    value = hostvars[host].get(args["result_var"])
                    if value is not None:
                        results[host] = self._templar.template(value)
        report = build_report(args["hosts"], results, mode=args["mode"], version=VERSION)
        path = args["path"]
        try:
            _write_atomic(path, json.dumps(report, indent=2, sort_keys=False) + "\n")
        except OSError as exc:
            result.update(failed=True, msg=f"could not write the report to {path}: {to_text(exc)}")
            return result
        result.update(
            changed=False,
            path=os.path.abspath(path),
            summary=report["summary"],
            table=table(report),
            report=report,
        )
        return result
