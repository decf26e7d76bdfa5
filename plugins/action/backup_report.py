# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for vmbackup.azure.backup_report: write the fleet report on the controller."""

from __future__ import annotations

import json
import os
import tempfile

from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible_collections.vmbackup.azure.plugins.module_utils._catalog import CATALOG
from ansible_collections.vmbackup.azure.plugins.plugin_utils._controls import ControlError, controls
from ansible_collections.vmbackup.azure.plugins.plugin_utils._guest_os import GuestOsError, guest_os
from ansible_collections.vmbackup.azure.plugins.plugin_utils._html import render_html
from ansible_collections.vmbackup.azure.plugins.plugin_utils._i18n import language as normalize_language
from ansible_collections.vmbackup.azure.plugins.plugin_utils._junit import build_junit
from ansible_collections.vmbackup.azure.plugins.plugin_utils._report import (
    FAIL_ON,
    build_report,
    host_result,
    is_waived,
    merge_reports,
    table,
    verdict,
)

FORMATS = ("json", "junit", "html")
EXTENSIONS = {"json": "json", "junit": "junit.xml", "html": "html"}

ARGUMENT_SPEC = {
    "hosts": {"type": "list", "elements": "str"},
    "merge": {"type": "list", "elements": "path"},
    "results": {"type": "dict"},
    "result_var": {"type": "str", "default": "vmbackup_scan_result"},
    "fix_results": {"type": "bool"},
    "failures_var": {"type": "str", "default": "vmbackup_remediate_failures"},
    "scan_vars": {
        "type": "list",
        "elements": "str",
        "default": ["vmbackup_remediate_verify", "vmbackup_remediate_scan"],
    },
    "path": {"type": "path"},
    "dir": {"type": "path"},
    "formats": {"type": "list", "elements": "str", "choices": list(FORMATS)},
    "language": {"type": "str", "default": "en"},
    "mode": {"type": "str", "default": "scan", "choices": ["scan", "remediate", "triage"]},
    "triage": {"type": "dict"},
    "check": {"type": "bool", "default": False},
    "fail_on": {"type": "str", "default": "never", "choices": list(FAIL_ON)},
}

VERSION = "0.1.0"


def _write_atomic(path: str, text: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".report-", suffix=os.path.splitext(path)[1])
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

    def _fix_results(self, host: str, hostvars, failures_var: str, check: bool, scan_vars=()) -> dict | None:
        """One host's remediate result from each fix role's registered ``<role>_result``.

        Codes whose role did not run on the host (nothing to fix) come from the host's latest scan in
        ``scan_vars`` (remediate.yml's verify scan, else the scan it decided from); a fixed code whose
        latest scan still fails or errors is reported with that status.
        """
        if host not in hostvars:
            return None
        host_vars = hostvars[host]

        def lookup_var(name):
            if name not in host_vars:
                raise KeyError(name)
            return self._templar.template(host_vars[name])

        outcomes = {}
        failures = lookup_var(failures_var) if failures_var in host_vars else {}
        scan = None
        for name in (v for v in scan_vars if v in host_vars):
            scan = lookup_var(name) or {}
            if not scan.get("skipped"):
                break
            scan = None
        if scan and (scan.get("unreachable") or (scan.get("failed") and not scan.get("findings"))):
            return {k: scan[k] for k in ("unreachable", "failed", "msg") if k in scan}
        scanned = {f.get("error_code"): f for f in (scan or {}).get("findings") or []}
        for entry in CATALOG:
            var = f"{entry.role}_result" if entry.role else None
            outcome = lookup_var(var) if var and var in host_vars else None
            if outcome is not None and not (outcome.get("skipped") and entry.code in scanned):
                outcomes[entry.code] = outcome
                latest = scanned.get(entry.code) or {}
                # Steps the fix was not allowed to take (no opt-in, unmapped writer, manual step) leave the cause
                # in place by design: that is the scan's fail, not a failed fix.
                held_back = outcome.get("not_allowed") or any(
                    not a.get("allowed", True) for a in (outcome.get("finding") or {}).get("actions") or []
                )
                if latest.get("status") in ("fail", "error") and outcome.get("changed") and not check and not held_back:
                    # The fix changed the host and the verify scan still finds the cause: the fix failed
                    # after changing something, an error (it outranks changed in every report and exit status).
                    outcomes[entry.code] = dict(
                        outcome,
                        failed=True,
                        msg=f"the fix changed the host but the verify scan still finds {entry.code}"
                        f" ({latest['status']}): {latest.get('detail', '')}",
                    )
                elif latest.get("status") in ("fail", "error") and isinstance(outcome.get("finding"), dict):
                    finding = dict(
                        outcomes[entry.code]["finding"], status=latest["status"], detail=latest.get("detail")
                    )
                    outcomes[entry.code] = dict(outcomes[entry.code], finding=finding)
            elif entry.code in (failures or {}):
                outcomes[entry.code] = {"failed": True, "msg": failures[entry.code]}
            elif entry.code in scanned:
                outcomes[entry.code] = {"finding": scanned[entry.code], "changed": False}
        # No outcome at all: no fix concerned this host (OS, --tags, switches); it is reported with no findings.
        try:
            found = controls(lookup_var, list(host_vars.keys()))
            os_family = guest_os(host_vars)
        except (ControlError, GuestOsError) as exc:
            return {"failed": True, "msg": str(exc)}
        return host_result(os_family, outcomes, found, check=check)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            lang = normalize_language(args["language"])
        except ValueError as exc:
            result.update(failed=True, msg=f"language: {exc}")
            return result
        if not args["path"] and not args["dir"]:
            result.update(failed=True, msg="backup_report needs path (the JSON report) or dir (every format)")
            return result
        formats = args["formats"] or (list(FORMATS) if args["dir"] else ["json"])
        paths = {}
        for fmt in formats:
            if fmt == "json" and args["path"]:
                paths[fmt] = args["path"]
            elif args["dir"]:
                paths[fmt] = os.path.join(args["dir"], f"vmbackup-{args['mode']}.{EXTENSIONS[fmt]}")
            else:
                result.update(failed=True, msg=f"format {fmt} needs dir: only the JSON report has its own path")
                return result

        if args["merge"] is not None:
            return self._merge(result, args, paths)
        if args["hosts"] is None:
            result.update(failed=True, msg="backup_report needs hosts (or merge: the slice reports to merge)")
            return result
        results = args["results"]
        hostvars = (task_vars or {}).get("hostvars", {})
        fix_results = args["fix_results"] if args["fix_results"] is not None else args["mode"] == "remediate"
        if results is None and fix_results:
            results = {}
            for host in args["hosts"]:
                value = self._fix_results(host, hostvars, args["failures_var"], args["check"], args["scan_vars"])
                if value is not None:
                    results[host] = value
        elif results is None:
            # Read each host's registered scan result; hosts that never ran the scan have none.
            results = {}
            for host in args["hosts"]:
                if host in hostvars:
                    value = hostvars[host].get(args["result_var"])
                    if value is not None:
                        results[host] = self._templar.template(value)
        # Build and render every format before writing any: malformed results write nothing at all.
        try:
            report = build_report(
                args["hosts"],
                results,
                mode=args["mode"],
                version=VERSION,
                language=lang,
                triage=args["triage"],
                check_mode=args["check"],
            )
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            result.update(failed=True, msg=f"results are malformed, no report written: {to_text(exc)}")
            return result
        return self._write(result, report, paths, args["fail_on"])

    def _merge(self, result, args, paths):
        """merge: several slice reports (JSON) in, one fleet report out, in every format asked for."""
        reports = []
        for path in args["merge"]:
            try:
                with open(path, encoding="utf-8") as handle:
                    reports.append(json.load(handle))
            except (OSError, ValueError) as exc:
                result.update(failed=True, msg=f"merge: could not read the slice report {path}: {to_text(exc)}")
                return result
        try:
            report = merge_reports(reports, args["hosts"], version=VERSION)
        except (ValueError, TypeError, KeyError) as exc:
            result.update(failed=True, msg=f"merge: {to_text(exc)}")
            return result
        if report["mode"] != args["mode"]:  # the files are named after the mode
            result.update(failed=True, msg=f"merge: the slice reports are {report['mode']} reports: set mode to it")
            return result
        return self._write(result, report, paths, args["fail_on"])

    def _write(self, result, report, paths, fail_on):
        try:
            texts = {
                "json": json.dumps(report, indent=2, sort_keys=False) + "\n",
                "junit": build_junit(report),
                "html": render_html(report),
            }
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            result.update(failed=True, msg=f"results are malformed, no report written: {to_text(exc)}")
            return result
        written = []
        for fmt, path in paths.items():
            try:
                _write_atomic(path, texts[fmt])
            except OSError as exc:
                for done in written:  # all or none: remove the files this run already wrote
                    os.unlink(done)
                result.update(failed=True, msg=f"could not write the {fmt} report to {path}: {to_text(exc)}")
                return result
            written.append(path)
        paths = {fmt: os.path.abspath(path) for fmt, path in paths.items()}
        result.update(
            changed=False,
            path=paths.get("json", ""),
            paths=paths,
            summary=report["summary"],
            table=table(report),
            stats=stats(report, paths),
            report=report,
            verdict=verdict(report, fail_on),
        )
        return result


def stats(report: dict, paths: dict) -> dict:
    """A compact summary for ``ansible.builtin.set_stats`` (AWX shows it as the job's artifacts)."""
    hosts = {}
    for entry in report["hosts"]:
        live = [f for f in entry["findings"] if not is_waived(f)]
        hosts[entry["host"]] = {
            "reachable": entry["reachable"],
            "fail": sorted(f["error_code"] for f in live if f["status"] == "fail"),
            "error": sorted(f["error_code"] for f in live if f["status"] == "error"),
            "waived": sorted(f["error_code"] for f in entry["findings"] if is_waived(f)),
            "changed": sorted(f["error_code"] for f in entry["findings"] if f.get("changed")),
        }
    return {"mode": report["mode"], "summary": report["summary"], "hosts": hosts, "files": paths}
