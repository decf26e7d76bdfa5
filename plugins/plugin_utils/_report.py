# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the fleet report (JSON, schema docs/schemas/report.schema.json) and its terminal table.

Pure functions: unit-tested without Ansible.
"""

from __future__ import annotations

import datetime
import unicodedata

from ansible_collections.vmbackup.azure.plugins.plugin_utils._i18n import doc_url as _doc_url
from ansible_collections.vmbackup.azure.plugins.plugin_utils._i18n import language as _language
from ansible_collections.vmbackup.azure.plugins.plugin_utils._i18n import t
from ansible_collections.vmbackup.azure.plugins.plugin_utils._redact import redact, redact_text

# 2: optional finding.waiver / finding.changed, host.disabled, summary.waived / hosts_changed,
#    top-level language and check_mode (every schema_version 1 report is a valid version 2 report).
SCHEMA_VERSION = 2
STATUSES = ("fail", "error", "pass", "not_applicable")
# vmbackup_fail_on: which outcome makes the run exit non-zero (after the report is written).
FAIL_ON = ("fail", "error", "never")
FINDING_KEYS = ("error_code", "status", "detail", "fix", "doc_url")


def _clean_finding(finding: dict, lang: str = "en") -> dict:
    finding = redact(finding)  # no signed URL (SAS) or URL credentials in any report text
    out = {key: str(finding.get(key) or "") for key in FINDING_KEYS}
    out["status"] = finding.get("status") if finding.get("status") in STATUSES else "error"
    out["doc_url"] = _doc_url(out["error_code"], lang, out["doc_url"])
    out["actions"] = list(finding.get("actions") or [])
    waiver = finding.get("waiver")
    if isinstance(waiver, dict) and waiver.get("reason"):
        out["waiver"] = {
            "reason": str(waiver["reason"]),
            "until": str(waiver["until"]) if waiver.get("until") else None,
            "active": bool(waiver.get("active", True)),
        }
    if "changed" in finding:
        out["changed"] = bool(finding["changed"])
    return out


def is_waived(finding: dict) -> bool:
    """An active waiver on a fail or error finding: reported with its reason, not counted as failing."""
    return bool((finding.get("waiver") or {}).get("active")) and finding["status"] in ("fail", "error")


def host_entry(host: str, result: dict | None, lang: str = "en") -> dict:
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
        error = redact_text(str(result.get("msg", "")))
        return {"host": host, "os": "unknown", "reachable": False, "error": error, "findings": []}
    if result.get("failed") and not result.get("findings"):
        error = redact_text(str(result.get("msg", "")))
        return {"host": host, "os": "unknown", "reachable": True, "error": error, "findings": []}
    entry = {
        "host": host,
        "os": result.get("os_family", "unknown"),
        "reachable": True,
        "error": redact_text(str(result.get("host_error") or "")),
        "findings": [_clean_finding(f, lang) for f in result.get("findings") or []],
    }
    if result.get("disabled"):
        entry["disabled"] = [str(code) for code in result["disabled"]]
    return entry


def _check_results(results) -> None:
    """Refuse results that are not ``{host: registered result}``, naming the host (ValueError)."""
    if not isinstance(results, dict):
        raise ValueError(f"results must be a dict of host to registered result, got {type(results).__name__}")
    for host, result in results.items():
        if result is None:
            continue
        if not isinstance(result, dict):
            raise ValueError(f"results[{host!r}] must be a registered result (a dict), got {type(result).__name__}")
        findings = result.get("findings")
        if findings is not None and (not isinstance(findings, list) or not all(isinstance(f, dict) for f in findings)):
            raise ValueError(f"results[{host!r}].findings must be a list of findings (dicts)")


def build_report(
    hosts: list[str],
    results: dict,
    *,
    mode: str = "scan",
    version: str = "",
    now=None,
    language: str = "en",
    triage: dict | None = None,
    check_mode: bool = False,
) -> dict:
    lang = _language(language)
    _check_results(results)
    entries = [host_entry(host, results.get(host), lang) for host in hosts]
    for entry in entries:  # triage: the failed Azure Backup job that named the host's codes
        job = (results.get(entry["host"]) or {}).get("job")
        if isinstance(job, dict):
            entry["job"] = redact(job)
    return assemble(entries, mode=mode, version=version, now=now, lang=lang, triage=triage, check_mode=check_mode)


def assemble(entries: list[dict], *, mode, version="", now=None, lang="en", triage=None, check_mode=False) -> dict:
    """The report of host entries (``host_entry``'s shape): the one place the summary is counted."""
    by_status = dict.fromkeys(STATUSES, 0)
    waived = 0
    for entry in entries:
        for finding in entry["findings"]:
            by_status[finding["status"]] += 1
            waived += is_waived(finding)

    def counts(finding, status):
        # A failing finding the remediate run changed is not counted: its fix ran (a new scan confirms it).
        # An error always counts, changed or not: a fix that failed after changing something is an error.
        if finding["status"] != status or is_waived(finding):
            return False
        return status == "error" or not finding.get("changed")

    failing = [e["host"] for e in entries if any(counts(f, "fail") for f in e["findings"])]
    problems = [e["host"] for e in entries if e["error"] or any(counts(f, "error") for f in e["findings"])]
    changed = [e["host"] for e in entries if any(f.get("changed") for f in e["findings"])]
    now = now or datetime.datetime.now(datetime.UTC)
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": now.isoformat(timespec="seconds"),
        "generator": f"vmbackup.azure {version}".strip(),
        "mode": mode,
        "language": lang,
        "check_mode": bool(check_mode),
        "summary": {
            "hosts": len(entries),
            "hosts_failing": len(failing),
            "hosts_with_errors": len(problems),
            "hosts_changed": len(changed),
            "waived": waived,
            "findings": by_status,
        },
        "hosts": entries,
        **({"triage": redact(triage)} if triage is not None else {}),
    }


def host_result(os_family: str, outcomes: dict, controls: dict | None = None, *, check: bool = False) -> dict:
    """A remediate run's result for one host, in the shape of a scan result.

    ``outcomes``: ``{code: registered result of the fix role's task}`` (its ``finding`` and ``changed``),
    or ``{"failed": True, "msg": ...}`` recorded when the role failed before registering anything.
    An unreachable outcome makes the whole host unreachable. Waived codes ran in check mode: their
    ``changed`` is what would have changed, so it is reported as not changed; so is every code of a
    ``--check`` run (``check``): there the finding's ``fix`` says what would change.
    """
    controls = controls or {}
    waivers = controls.get("waivers") or {}
    findings = []
    for code, outcome in outcomes.items():
        outcome = outcome or {}
        if outcome.get("unreachable"):
            return {"unreachable": True, "msg": str(outcome.get("msg") or "unreachable")}
        if outcome.get("skipped"):
            continue
        finding = dict(outcome.get("finding") or {})
        if outcome.get("failed") or not finding:
            finding = {
                "error_code": code,
                "status": "error",
                "detail": f"the fix for {code} failed: {outcome.get('msg') or 'no result'}",
                "fix": "",
                "actions": [],
            }
        finding.setdefault("error_code", code)
        waiver = waivers.get(code)
        if waiver:
            finding["waiver"] = waiver
        finding["changed"] = bool(outcome.get("changed")) and not check and not (waiver and waiver.get("active"))
        findings.append(finding)
    return {"os_family": os_family, "findings": findings, "disabled": list(controls.get("disabled") or [])}


def _cell(ch: str) -> int:
    """Terminal columns of one character: East Asian wide / fullwidth take two; combining marks and
    format characters (zero-width space, joiners, direction marks) none -- as wcwidth(3) counts them."""
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def _cells(text: str) -> int:
    """Terminal columns of ``text``."""
    return sum(_cell(ch) for ch in text)


def _pad(text: str, cells: int) -> str:
    out, used = "", 0
    for ch in text:
        width = _cell(ch)
        if used + width > cells:
            break
        out, used = out + ch, used + width
    return out + " " * (cells - used)


def table(report: dict, width: int = 100) -> list[str]:
    """A short fixed-width table: one line per host, failing codes named (in the report's language)."""
    lang = report.get("language", "en")
    lines = [
        f"{_pad(t(lang, 'host').upper(), 24)} {_pad(t(lang, 'os').upper(), 8)} {_pad(t(lang, 'result').upper(), 8)} "
        + t(lang, "table.detail"),
        "-" * min(width, 100),
    ]
    for entry in report["hosts"]:
        live = [f for f in entry["findings"] if not is_waived(f)]
        failing = [f["error_code"] for f in live if f["status"] == "fail" and not f.get("changed")]
        errors = [f["error_code"] for f in live if f["status"] == "error"]  # an error outranks a change
        changed = [f["error_code"] for f in entry["findings"] if f.get("changed")]
        waived = [f["error_code"] for f in entry["findings"] if is_waived(f)]
        if not entry["reachable"] or entry["error"]:
            result, detail = t(lang, "result.error"), entry["error"] or "unreachable"
        elif failing:
            result, detail = t(lang, "result.fail"), ", ".join(failing)
        elif errors:
            result, detail = t(lang, "result.error"), t(lang, "could_not_check", codes=", ".join(errors))
        elif changed:
            result, detail = t(lang, "result.changed"), ", ".join(changed)
        else:
            result, detail = t(lang, "result.ok"), ""
        if waived:
            detail = (detail + "; " if detail else "") + t(lang, "status.waived") + ": " + ", ".join(waived)
        line = f"{_pad(entry['host'], 24)} {_pad(entry['os'], 8)} {_pad(result, 8)} {detail}"
        lines.append(_pad(line, width).rstrip())
    summary = report["summary"]
    lines.append("-" * min(width, 100))
    last = t(
        lang,
        "table.summary",
        hosts=summary["hosts"],
        failing=summary["hosts_failing"],
        errors=summary["hosts_with_errors"],
    )
    if summary.get("waived"):
        last += t(lang, "table.waived", waived=summary["waived"])
    lines.append(last)
    return lines


def verdict(report: dict, fail_on: str) -> str:
    """Why the run must exit non-zero under ``fail_on`` (``vmbackup_fail_on``), or ``""``.

    ``error``: a host could not be reached or fully checked, or a fix failed. ``fail``: that, or a
    host would fail backup. ``never``: only a run that matched no host at all. A run that matched no
    host always fails: an empty inventory or a mistyped pattern must not look like a clean fleet.
    """
    if fail_on not in FAIL_ON:
        raise ValueError(f"vmbackup_fail_on must be one of {', '.join(FAIL_ON)}, got {fail_on!r}")
    summary = report["summary"]
    # Triage reports the hosts that have a failed job: none is a clean answer (the playbook itself
    # fails when its pattern matched no host).
    if not summary["hosts"] and report.get("mode") != "triage":
        return "the run matched no host: check the inventory (-i), vmbackup_hosts and --limit"
    reasons = []
    if fail_on in ("fail", "error") and summary["hosts_with_errors"]:
        reasons.append(f"{summary['hosts_with_errors']} host(s) unreachable, not fully checked or with a failed fix")
    if fail_on == "fail" and summary["hosts_failing"]:
        reasons.append(f"{summary['hosts_failing']} host(s) would fail backup")
    if not reasons:
        return ""
    return f"vmbackup_fail_on={fail_on}: " + "; ".join(reasons) + " (the report is written)"


def merge_reports(reports: list[dict], hosts: list[str] | None = None, *, version: str = "", now=None) -> dict:
    """One fleet report from the reports of the slices of a sliced job (AWX job slicing).

    The slices must agree on mode, language and check mode, and no host may be in two slices.
    ``hosts`` (e.g. the inventory's hosts in order) orders the merged report; a host of ``hosts`` that no
    slice reported (a slice that never ran) is reported without a result, never dropped. Without
    ``hosts``, the slices' hosts in slice order. The summary is counted again (``assemble``), so the
    merged report is the report the fleet scanned at once would have given. Raises ValueError.
    """
    if not reports:
        raise ValueError("merge needs at least one slice report")
    first = reports[0]
    for key in ("mode", "language", "check_mode"):
        values = {str(r.get(key)) for r in reports}
        if len(values) > 1:
            raise ValueError(f"the slice reports differ in {key}: {', '.join(sorted(values))}")
    entries: dict[str, dict] = {}
    for index, report in enumerate(reports):
        if not isinstance(report, dict) or not isinstance(report.get("hosts"), list):
            raise ValueError(f"slice report {index + 1} is not a vmbackup.azure report (no hosts list)")
        for entry in report["hosts"]:
            if entry["host"] in entries:
                raise ValueError(f"host {entry['host']} is in two slice reports")
            entries[entry["host"]] = entry
    order = list(hosts) if hosts is not None else list(entries)
    lang = first.get("language", "en")
    merged = [entries.get(host) or host_entry(host, None, lang) for host in order]
    triage = None
    if first.get("triage") is not None:
        triage = {}
        for report in reports:
            for key, value in (report.get("triage") or {}).items():
                if isinstance(value, list):
                    triage[key] = triage.get(key, []) + value
                elif isinstance(value, dict) and key == "summary":
                    triage[key] = {k: triage.get(key, {}).get(k, 0) + v for k, v in value.items()}
                else:
                    triage.setdefault(key, value)
    return assemble(
        merged,
        mode=first.get("mode", "scan"),
        version=version,
        now=now,
        lang=lang,
        triage=triage,
        check_mode=bool(first.get("check_mode")),
    )
