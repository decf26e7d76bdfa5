# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the fleet report (JSON, schema docs/schemas/report.schema.json) and its terminal table.

Pure functions: unit-tested without Ansible.
"""

from __future__ import annotations

import datetime

SCHEMA_VERSION = 1
STATUSES = ("fail", "error", "pass", "not_applicable")
FINDING_KEYS = ("error_code", "status", "detail", "fix", "doc_url")


def _clean_finding(finding: dict) -> dict:
    out = {key: finding.get(key, "") for key in FINDING_KEYS}
    out["status"] = finding.get("status") if finding.get("status") in STATUSES else "error"
    out["actions"] = list(finding.get("actions") or [])
    return out


def host_entry(host: str, result: dict | None) -> dict:
    """One host of the report from its registered scan result (None when the host never ran the scan)."""
    if not result:
        return {
            "host": host,
            "os": "unknown",
            "reachable": False,
            "error": "no scan result: the host was unreachable or excluded before the scan ran",
            "findings": [],
        }
    if result.get("unreachable"):
        return {"host": host, "os": "unknown", "reachable": False, "error": str(result.get("msg", "")), "findings": []}
    if result.get("failed") and not result.get("findings"):
        return {"host": host, "os": "unknown", "reachable": True, "error": str(result.get("msg", "")), "findings": []}
    return {
        "host": host,
        "os": result.get("os_family", "unknown"),
        "reachable": True,
        "error": "",
        "findings": [_clean_finding(f) for f in result.get("findings") or []],
    }


def build_report(hosts: list[str], results: dict, *, mode: str = "scan", version: str = "", now=None) -> dict:
    entries = [host_entry(host, results.get(host)) for host in hosts]
    by_status = dict.fromkeys(STATUSES, 0)
    for entry in entries:
        for finding in entry["findings"]:
            by_status[finding["status"]] += 1
    failing = [e["host"] for e in entries if any(f["status"] == "fail" for f in e["findings"])]
    problems = [e["host"] for e in entries if e["error"] or any(f["status"] == "error" for f in e["findings"])]
    now = now or datetime.datetime.now(datetime.UTC)
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": now.isoformat(timespec="seconds"),
        "generator": f"vmbackup.azure {version}".strip(),
        "mode": mode,
        "summary": {
            "hosts": len(entries),
            "hosts_failing": len(failing),
            "hosts_with_errors": len(problems),
            "findings": by_status,
        },
        "hosts": entries,
    }


def table(report: dict, width: int = 100) -> list[str]:
    """A short fixed-width table: one line per host, failing codes named."""
    lines = [f"{'HOST':<24} {'OS':<8} {'RESULT':<8} DETAIL", "-" * min(width, 100)]
    for entry in report["hosts"]:
        failing = [f["error_code"] for f in entry["findings"] if f["status"] == "fail"]
        errors = [f["error_code"] for f in entry["findings"] if f["status"] == "error"]
        if not entry["reachable"] or entry["error"]:
            result, detail = "ERROR", entry["error"] or "unreachable"
        elif failing:
            result, detail = "FAIL", ", ".join(failing)
        elif errors:
            result, detail = "ERROR", "could not check: " + ", ".join(errors)
        else:
            result, detail = "ok", ""
        line = f"{entry['host'][:24]:<24} {entry['os'][:8]:<8} {result:<8} {detail}"
        lines.append(line[:width])
    summary = report["summary"]
    lines.append("-" * min(width, 100))
    lines.append(
        f"{summary['hosts']} hosts, {summary['hosts_failing']} would fail backup, "
        f"{summary['hosts_with_errors']} could not be fully checked"
    )
    return lines
