# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report as one self-contained HTML page (inline CSS, no script, no external asset).

Rendered with Jinja2 from ``templates/report.html.j2`` with autoescaping on: finding texts come from
hosts (writer names, service names, mount points) and are never trusted as markup.
The fixed texts come from ``_i18n.STRINGS`` in the report's language; finding texts stay English.
"""

from __future__ import annotations

import os

import jinja2
from ansible_collections.vmbackup.azure.plugins.plugin_utils._i18n import doc_url, t, title
from ansible_collections.vmbackup.azure.plugins.plugin_utils._report import is_waived

TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates", "report.html.j2")
_ORDER = {"fail": 0, "error": 1, "pass": 3, "not_applicable": 4}


def _host_view(entry: dict, lang: str) -> dict:
    findings = []
    for finding in entry.get("findings", []):
        waived = is_waived(finding)
        # an error outranks a change: a fix that failed after changing something shows as an error
        if waived:
            status = "waived"
        elif finding.get("changed") and finding["status"] != "error":
            status = "changed"
        else:
            status = finding["status"]
        findings.append(
            {
                **finding,
                "changed": bool(finding.get("changed")),
                "waiver": finding.get("waiver"),
                "css": status,
                "label": t(lang, "result.changed" if status == "changed" else f"status.{status}"),
                "title": title(finding["error_code"]),
                "doc": doc_url(finding["error_code"], lang, finding.get("doc_url", "")),
                "order": 2 if status in ("waived", "changed") else _ORDER.get(finding["status"], 1),
            }
        )
    findings.sort(key=lambda f: (f["order"], f["error_code"]))
    if not entry.get("reachable", True):
        result, css = t(lang, "result.unreachable"), "error"
    elif entry.get("error") or any(f["css"] == "error" for f in findings):
        result, css = t(lang, "result.error"), "error"
    elif any(f["css"] == "fail" for f in findings):
        result, css = t(lang, "result.fail"), "fail"
    elif any(f.get("changed") for f in findings):
        result, css = t(lang, "result.changed"), "changed"
    elif any(f["css"] == "waived" for f in findings):
        result, css = t(lang, "status.waived"), "waived"
    else:
        result, css = t(lang, "result.ok"), "pass"
    shown = [f for f in findings if f["status"] in ("fail", "error") or f["css"] == "waived" or f.get("changed")]
    quiet = [f for f in findings if f not in shown]
    return {
        **entry,
        "disabled": entry.get("disabled") or [],
        "result": result,
        "css": css,
        "shown": shown,
        "passed": [f for f in quiet if f["status"] == "pass"],
        "not_applicable": [f for f in quiet if f["status"] == "not_applicable"],
        "codes": [f for f in findings if f["css"] in ("fail", "error", "waived") or f.get("changed")],
    }


def render_html(report: dict) -> str:
    """The report as an HTML document (text)."""
    lang = report.get("language", "en")
    with open(TEMPLATE, encoding="utf-8") as handle:
        source = handle.read()
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(source)

    def tr(key, **values):
        return t(lang, key, **values)

    hosts = [_host_view(entry, lang) for entry in report["hosts"]]
    return template.render(
        report=report,
        summary=report["summary"],
        hosts=hosts,
        lang=lang,
        t=tr,
        remediate=report.get("mode") == "remediate" and not report.get("check_mode"),
        check_mode=bool(report.get("check_mode")),
    )
