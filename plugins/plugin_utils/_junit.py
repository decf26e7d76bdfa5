# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report as JUnit XML, for CI servers (Jenkins, GitLab, Azure DevOps show it as tests).

One ``<testsuite>`` per host, one ``<testcase>`` per host and error code:
``fail`` -> ``<failure>``, ``error`` -> ``<error>``, ``not_applicable`` -> ``<skipped>``,
``pass`` -> a passed test case. A finding under an active waiver -> ``<skipped>`` with the reason
(an expired waiver changes nothing). A code switched off for the host -> ``<skipped>``. A host that
was unreachable or could not be checked gets one ``<error>`` test case named after the host.
Pure Python (xml.etree escapes every text); validated with ``junitparser`` in the unit tests.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ansible_collections.vmbackup.azure.plugins.plugin_utils._i18n import t

# Characters XML 1.0 cannot carry at all (escaping does not help): dropped from finding texts.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _text(value) -> str:
    return _INVALID_XML.sub("", str(value if value is not None else ""))


def _body(finding: dict, lang: str) -> str:
    lines = [_text(finding.get("detail"))]
    if finding.get("fix"):
        key = "fix.remediate" if finding.get("changed") else "fix"
        lines.append(f"{t(lang, key)}: {_text(finding['fix'])}")
    if finding.get("doc_url"):
        lines.append(f"{t(lang, 'doc')}: {_text(finding['doc_url'])}")
    return "\n".join(lines)


def _case(suite: ET.Element, host: str, name: str) -> ET.Element:
    return ET.SubElement(
        suite, "testcase", {"classname": _text(f"vmbackup.azure.{host}"), "name": _text(name), "time": "0"}
    )


def build_junit(report: dict) -> str:
    """The report as a JUnit XML document (text, UTF-8 declaration included)."""
    lang = report.get("language", "en")
    root = ET.Element("testsuites", {"name": _text(f"vmbackup.azure {report.get('mode', 'scan')}")})
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for entry in report["hosts"]:
        host = entry["host"]
        suite = ET.SubElement(
            root, "testsuite", {"name": _text(host), "timestamp": _text(report.get("generated_at", ""))}
        )
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", {"name": "os", "value": _text(entry.get("os", "unknown"))})
        if not entry.get("reachable", True) or entry.get("error"):
            case = _case(suite, host, host)
            key = "junit.unreachable" if not entry.get("reachable", True) else "junit.host_error"
            err = ET.SubElement(case, "error", {"type": "unreachable" if key == "junit.unreachable" else "error"})
            err.set("message", _text(f"{t(lang, key)}: {entry.get('error') or ''}"))
            err.text = _text(entry.get("error"))
            counts["tests"] += 1
            counts["errors"] += 1
        for finding in entry.get("findings", []):
            case = _case(suite, host, finding["error_code"])
            counts["tests"] += 1
            status = finding["status"]
            waiver = finding.get("waiver") or {}
            if waiver.get("active") and status in ("fail", "error"):
                skipped = ET.SubElement(
                    case, "skipped", {"message": _text(t(lang, "junit.waived", reason=waiver["reason"]))}
                )
                skipped.text = _body(finding, lang)
                counts["skipped"] += 1
            elif status == "fail":
                failure = ET.SubElement(case, "failure", {"type": "fail", "message": _text(finding.get("detail"))})
                failure.text = _body(finding, lang)
                counts["failures"] += 1
            elif status == "error":
                error = ET.SubElement(case, "error", {"type": "error", "message": _text(finding.get("detail"))})
                error.text = _body(finding, lang)
                counts["errors"] += 1
            elif status == "not_applicable":
                ET.SubElement(case, "skipped", {"message": _text(finding.get("detail"))})
                counts["skipped"] += 1
            if finding.get("fix") and status == "pass" or finding.get("changed"):
                ET.SubElement(case, "system-out").text = _body(finding, lang)
        for code in entry.get("disabled", []):
            case = _case(suite, host, code)
            ET.SubElement(case, "skipped", {"message": _text(t(lang, "junit.disabled"))})
            counts["tests"] += 1
            counts["skipped"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", "0")
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
