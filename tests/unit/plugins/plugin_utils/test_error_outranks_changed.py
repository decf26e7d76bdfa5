"""A fix that failed after it changed something is an error in every view of the report.

Reproduced on the simulator with remediate.yml on tests/sim/states/vss_stuck_fr-FR.yml and the restart
opted in: CryptSvc is restarted (changed) and the writer stays failed (the fix fails).
"""

from __future__ import annotations

import datetime
import html.parser

import junitparser
from ansible_collections.vmbackup.azure.plugins.plugin_utils._html import render_html
from ansible_collections.vmbackup.azure.plugins.plugin_utils._junit import build_junit
from ansible_collections.vmbackup.azure.plugins.plugin_utils._report import build_report, host_result, table, verdict

VSS = "ExtensionFailedVssWriterInBadState"
NOW = datetime.datetime(2026, 11, 26, 12, 0, tzinfo=datetime.UTC)


def failed_after_change():
    """The remediate result of a role whose fix restarted a service, then failed."""
    outcome = {
        "changed": True,
        "failed": True,
        "msg": "writers still not stable 30 s after restarting CryptSvc",
        "finding": {"error_code": VSS, "status": "error", "detail": "the fix failed", "fix": "", "actions": []},
    }
    return build_report(["win-fr"], {"win-fr": host_result("windows", {VSS: outcome})}, mode="remediate", now=NOW)


def test_summary_counts_the_host_as_an_error():
    report = failed_after_change()
    assert report["summary"]["hosts_with_errors"] == 1
    assert report["summary"]["findings"]["error"] == 1


def test_terminal_table_says_error():
    row = next(line for line in table(failed_after_change()) if line.startswith("win-fr"))
    assert "ERROR" in row and "CHANGED" not in row


class _Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.text = []

    def handle_data(self, data):
        self.text.append(data.strip())


def test_html_says_error_for_the_host_and_the_finding():
    page = render_html(failed_after_change())
    parser = _Text()
    parser.feed(page)
    words = [w for w in parser.text if w]
    assert "ERROR" in words and "CHANGED" not in words, words


def test_junit_says_error():
    suites = junitparser.JUnitXml.fromstring(build_junit(failed_after_change()))
    cases = [case for suite in suites for case in suite]
    assert any(isinstance(r, junitparser.Error) for case in cases for r in case.result)


def test_the_run_exits_non_zero_by_default():
    assert "failed fix" in verdict(failed_after_change(), "error")
