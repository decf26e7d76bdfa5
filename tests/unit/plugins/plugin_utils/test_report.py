"""The fleet report: every host accounted for, statuses counted, the schema holds."""

from __future__ import annotations

import datetime
import json
import os

import jsonschema
import pytest
from ansible_collections.vmbackup.azure.plugins.plugin_utils._report import build_report, table

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
SCHEMA = os.path.join(ROOT, "docs", "schemas", "report.schema.json")
NOW = datetime.datetime(2026, 11, 26, 12, 0, tzinfo=datetime.UTC)


def finding(code, status, detail="d", fix=""):
    return {"error_code": code, "status": status, "detail": detail, "fix": fix, "actions": [], "doc_url": "u"}


@pytest.fixture(scope="module")
def validator():
    with open(SCHEMA, encoding="utf-8") as handle:
        schema = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_every_host_is_accounted_for_even_without_a_result(validator):
    results = {
        "win1": {"os_family": "windows", "findings": [finding("ExtensionFailedVssWriterInBadState", "fail")]},
        "lnx1": {"os_family": "linux", "findings": [finding("UserErrorFsFreezeFailed", "pass")]},
        "down": {"unreachable": True, "msg": "ssh: connect to host down port 22: Connection refused"},
    }
    report = build_report(["win1", "lnx1", "down", "never"], results, now=NOW)
    validator.validate(report)
    hosts = {h["host"]: h for h in report["hosts"]}
    assert list(hosts) == ["win1", "lnx1", "down", "never"]
    assert hosts["down"]["reachable"] is False and "Connection refused" in hosts["down"]["error"]
    assert hosts["never"]["reachable"] is False and hosts["never"]["findings"] == []
    assert report["summary"] == {
        "hosts": 4,
        "hosts_failing": 1,
        "hosts_with_errors": 2,
        "hosts_changed": 0,
        "waived": 0,
        "findings": {"fail": 1, "error": 0, "pass": 1, "not_applicable": 0},
    }


def test_a_task_failure_is_an_error_not_a_pass(validator):
    report = build_report(["w"], {"w": {"failed": True, "msg": "boom"}}, now=NOW)
    validator.validate(report)
    assert report["hosts"][0]["error"] == "boom"
    assert report["summary"]["hosts_with_errors"] == 1


def test_unknown_status_becomes_error(validator):
    report = build_report(["w"], {"w": {"os_family": "windows", "findings": [finding("X1", "weird")]}}, now=NOW)
    validator.validate(report)
    assert report["hosts"][0]["findings"][0]["status"] == "error"


def test_schema_rejects_a_report_missing_hosts(validator):
    report = build_report(["w"], {}, now=NOW)
    del report["hosts"]
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(report)


def test_table_names_failing_codes_and_errors():
    results = {
        "win1": {"os_family": "windows", "findings": [finding("ExtensionFailedVssWriterInBadState", "fail")]},
        "win2": {"os_family": "windows", "findings": [finding("ExtensionFailedVssWriterInBadState", "error")]},
        "lnx1": {"os_family": "linux", "findings": [finding("UserErrorFsFreezeFailed", "pass")]},
    }
    lines = table(build_report(["win1", "win2", "lnx1", "gone"], results, now=NOW))
    by_host = {line.split()[0]: line for line in lines[2:-2]}
    assert "FAIL" in by_host["win1"] and "ExtensionFailedVssWriterInBadState" in by_host["win1"]
    assert "ERROR" in by_host["win2"] and "could not check" in by_host["win2"]
    assert by_host["lnx1"].split()[2] == "ok"
    assert "ERROR" in by_host["gone"]
    assert lines[-1].startswith("4 hosts, 1 would fail backup, 2 could not be fully checked")


def test_report_language_choices_match_the_translations():
    import yaml
    from ansible_collections.vmbackup.azure.plugins.modules import backup_report
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._i18n import LANGUAGES

    doc = yaml.safe_load(backup_report.DOCUMENTATION)
    described = " ".join(doc["options"]["language"]["description"])
    for language in LANGUAGES:  # the documented languages are the ones translated
        assert f"C({language})" in described, language


def test_verdict_follows_fail_on_and_a_run_of_no_host_always_fails():
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._report import verdict

    failing = build_report(["w"], {"w": {"os_family": "windows", "findings": [finding("X1", "fail")]}}, now=NOW)
    erroring = build_report(["w"], {"w": {"unreachable": True, "msg": "down"}}, now=NOW)
    clean = build_report(["w"], {"w": {"os_family": "windows", "findings": [finding("X1", "pass")]}}, now=NOW)
    empty = build_report([], {}, now=NOW)
    assert verdict(failing, "error") == "" and "would fail backup" in verdict(failing, "fail")
    assert "unreachable" in verdict(erroring, "error") and "unreachable" in verdict(erroring, "fail")
    assert verdict(erroring, "never") == "" and verdict(clean, "fail") == ""
    for fail_on in ("fail", "error", "never"):
        assert "matched no host" in verdict(empty, fail_on)
    assert verdict(build_report([], {}, mode="triage", now=NOW), "error") == ""  # no failed job mapped: clean
    with pytest.raises(ValueError, match="vmbackup_fail_on must be one of fail, error, never"):
        verdict(clean, "sometimes")
