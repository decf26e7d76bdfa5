"""Reports people and CI read (JUnit XML, HTML, translations) and the user's controls (switches, waivers, tags)."""

from __future__ import annotations

import datetime
import html.parser
import json
import os
import re
import string

import jsonschema
import junitparser
import pytest
from ansible_collections.vmbackup.azure.plugins.plugin_utils import _controls, _i18n
from ansible_collections.vmbackup.azure.plugins.plugin_utils._html import render_html
from ansible_collections.vmbackup.azure.plugins.plugin_utils._junit import build_junit
from ansible_collections.vmbackup.azure.plugins.plugin_utils._report import build_report, host_result, table

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
SCHEMA = os.path.join(ROOT, "docs", "schemas", "report.schema.json")
NOW = datetime.datetime(2026, 11, 26, 12, 0, tzinfo=datetime.UTC)
VSS = "ExtensionFailedVssWriterInBadState"
FS = "UserErrorFsFreezeFailed"
HOSTILE = "<script>alert('x')</script> & \"quoted\" \x00\x07"


def finding(code, status, detail="d", fix="", **extra):
    return {"error_code": code, "status": status, "detail": detail, "fix": fix, "actions": [], **extra}


WAIVER = {"reason": "SQL change window on Sundays <b>only</b>", "until": "2099-12-31", "active": True}
RESULTS = {
    "win-fail": {
        "os_family": "windows",
        "findings": [
            finding(
                VSS,
                "fail",
                f"1 writer not stable: '{HOSTILE}' [8] Failed",
                "restart CryptSvc",
                actions=[{"action": "restart_service", "service": "CryptSvc", "allowed": True, "disruptive": False}],
            ),
            finding(FS, "not_applicable", "concerns linux guests"),
        ],
    },
    "win-waived": {
        "os_family": "windows",
        "findings": [finding(VSS, "fail", "SqlServerWriter failed", "restart SQLWriter", waiver=WAIVER)],
        "disabled": [FS],
    },
    "win-expired": {
        "os_family": "windows",
        "findings": [finding(VSS, "fail", "x", waiver={"reason": "old", "until": "2020-01-01", "active": False})],
    },
    "win-error": {"os_family": "windows", "findings": [finding(VSS, "error", "probe section vssadmin failed")]},
    "lnx-ok": {"os_family": "linux", "findings": [finding(FS, "pass", "all ext filesystems clean")]},
    "gone": {"unreachable": True, "msg": "ssh: connect to host gone port 22: Connection refused"},
}


@pytest.fixture(scope="module")
def validator():
    with open(SCHEMA, encoding="utf-8") as handle:
        schema = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def report(lang="en", results=None, mode="scan"):
    results = RESULTS if results is None else results
    return build_report(list(results), results, now=NOW, language=lang, mode=mode, version="0.1.0")


# --- JSON report --------------------------------------------------------------------------------


def test_report_schema_2_counts_waivers_apart(validator):
    rep = report()
    validator.validate(rep)
    assert rep["schema_version"] == 2 and rep["language"] == "en"
    summary = rep["summary"]
    # win-waived fails under an active waiver: not failing; win-expired's waiver expired: failing.
    assert summary["hosts_failing"] == 2
    assert summary["waived"] == 1
    assert summary["hosts_with_errors"] == 2  # win-error, gone
    hosts = {h["host"]: h for h in rep["hosts"]}
    assert hosts["win-waived"]["disabled"] == [FS]
    assert hosts["win-waived"]["findings"][0]["waiver"]["reason"].startswith("SQL change window")
    assert hosts["win-waived"]["findings"][0]["status"] == "fail"  # the status stays what the check found


def test_version_1_reports_stay_valid(validator):
    rep = report()
    rep["schema_version"] = 1
    for key in ("language", "check_mode"):
        rep.pop(key)
    for key in ("waived", "hosts_changed"):
        rep["summary"].pop(key)
    for host in rep["hosts"]:
        host.pop("disabled", None)
        for item in host["findings"]:
            item.pop("waiver", None)
    validator.validate(rep)


def test_doc_links_follow_the_language():
    en = report("en")["hosts"][0]["findings"][0]["doc_url"]
    tw = report("zh-TW")["hosts"][0]["findings"][0]["doc_url"]
    assert en.startswith("https://learn.microsoft.com/azure/backup/")
    assert tw.startswith("https://learn.microsoft.com/zh-tw/azure/backup/")
    assert en.split("#")[1] == tw.split("#")[1]


def test_unknown_language_is_refused_naming_the_valid_ones():
    with pytest.raises(ValueError, match="zh-TW"):
        report("fr")
    assert report("zh_tw")["language"] == "zh-TW"


def test_table_in_both_languages_keeps_columns():
    en = table(report("en"))
    assert "waived: " + VSS in next(line for line in en if line.startswith("win-waived"))
    assert en[-1].endswith("1 finding(s) waived")
    tw = table(report("zh-TW"))
    assert tw[0].startswith("主機") and "共 6 台主機" in tw[-1]
    # Wide characters take two columns: the RESULT column starts at the same place on every line.
    row = next(line for line in tw if line.startswith("win-fail"))
    assert row[34:36] == "失敗"


# --- remediate results --------------------------------------------------------------------------


def test_host_result_from_fix_roles():
    controls = {"disabled": [FS], "waivers": {VSS: WAIVER}, "waived": [VSS]}
    res = host_result("windows", {VSS: {"changed": True, "finding": finding(VSS, "fail")}}, controls)
    assert res["findings"][0]["changed"] is False, "a waived code ran in check mode: nothing changed"
    assert res["findings"][0]["waiver"] == WAIVER and res["disabled"] == [FS]

    res = host_result("windows", {VSS: {"changed": True, "finding": finding(VSS, "fail")}})
    assert res["findings"][0]["changed"] is True
    assert (
        host_result("windows", {VSS: {"changed": True, "finding": finding(VSS, "fail")}}, check=True)["findings"][0][
            "changed"
        ]
        is False
    )

    failed = host_result("windows", {VSS: {"failed": True, "msg": "writers still not stable"}})
    assert failed["findings"][0]["status"] == "error" and "still not stable" in failed["findings"][0]["detail"]

    gone = host_result("linux", {FS: {"unreachable": True, "msg": "Connection refused"}})
    assert gone == {"unreachable": True, "msg": "Connection refused"}
    assert host_result("linux", {FS: {"skipped": True}})["findings"] == []


def test_a_changed_finding_does_not_count_as_failing(validator):
    results = {"w": host_result("windows", {VSS: {"changed": True, "finding": finding(VSS, "fail")}})}
    rep = build_report(["w"], results, mode="remediate", now=NOW)
    validator.validate(rep)
    assert rep["summary"]["hosts_failing"] == 0 and rep["summary"]["hosts_changed"] == 1
    assert "CHANGED" in table(rep)[2]


# --- JUnit --------------------------------------------------------------------------------------


def parse_junit(tmp_path, text):
    path = tmp_path / "report.junit.xml"
    path.write_text(text, encoding="utf-8")
    xml = junitparser.JUnitXml.fromfile(str(path))
    cases = {}
    for suite in xml:
        for case in suite:
            cases[(suite.name, case.name)] = case
    return xml, cases


def kinds(case):
    return sorted(type(r).__name__ for r in case.result)


@pytest.mark.parametrize("lang", ["en", "zh-TW"])
def test_junit_one_case_per_host_and_code(tmp_path, lang):
    xml, cases = parse_junit(tmp_path, build_junit(report(lang)))
    assert kinds(cases[("win-fail", VSS)]) == ["Failure"]
    assert kinds(cases[("win-fail", FS)]) == ["Skipped"]  # not applicable
    assert kinds(cases[("win-error", VSS)]) == ["Error"]
    assert kinds(cases[("lnx-ok", FS)]) == []  # passed
    assert kinds(cases[("win-expired", VSS)]) == ["Failure"]  # an expired waiver changes nothing
    waived = cases[("win-waived", VSS)]
    assert kinds(waived) == ["Skipped"] and "SQL change window" in waived.result[0].message
    assert kinds(cases[("win-waived", FS)]) == ["Skipped"]  # switched off
    assert kinds(cases[("gone", "gone")]) == ["Error"]  # unreachable host: one error case
    assert "Connection refused" in cases[("gone", "gone")].result[0].message
    failure = cases[("win-fail", VSS)].result[0]
    assert "<script>" in failure.message  # escaped in the file, read back as text
    assert "\x00" not in failure.message and "\x07" not in failure.message
    assert "learn.microsoft.com" in failure.text and "restart CryptSvc" in failure.text
    xml.update_statistics()
    assert (xml.tests, xml.failures, xml.errors, xml.skipped) == (8, 2, 2, 3)
    assert {suite.name for suite in xml} == set(RESULTS)


def test_junit_counts_in_the_file_match_the_cases(tmp_path):
    text = build_junit(report())
    xml, cases = parse_junit(tmp_path, text)
    declared = re.search(r'<testsuites [^>]*tests="(\d+)"', text).group(1)
    assert int(declared) == len(cases)


# --- HTML ---------------------------------------------------------------------------------------


class Collector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text, self.links, self.stack = [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "a":
            self.links.append(dict(attrs).get("href", ""))

    def handle_data(self, data):
        self.text.append(data)


@pytest.mark.parametrize("lang", ["en", "zh-TW"])
def test_html_renders_every_host_escapes_and_is_self_contained(lang):
    page = render_html(report(lang))
    parser = Collector()
    parser.feed(page)
    parser.close()
    text = "".join(parser.text)
    for host in RESULTS:
        assert host in text
    assert "script" not in parser.tags, "a finding's text became markup"
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert "<b>only</b>" not in page  # the waiver reason is text too
    assert not [tag for tag in parser.tags if tag in ("link", "img", "iframe", "object")]
    assert not re.search(r"""(src|href)=["']?(https?:)?//(?!learn\.microsoft\.com)""", page)
    assert f'<html lang="{lang}">' in page
    assert _i18n.t(lang, "summary") in text and _i18n.t(lang, "status.waived") in text
    docs = [link for link in parser.links if link.startswith("https://")]
    prefix = "https://learn.microsoft.com/zh-tw/" if lang == "zh-TW" else "https://learn.microsoft.com/azure/"
    assert docs and all(link.startswith(prefix) for link in docs)
    assert "SQL change window on Sundays" in text  # the waiver's reason is shown


def test_html_of_a_remediate_check_run_says_nothing_changed():
    rep = build_report(["w"], {"w": RESULTS["win-fail"]}, mode="remediate", check_mode=True, now=NOW)
    page = render_html(rep)
    assert _i18n.t("en", "check_mode") in page
    assert _i18n.t("en", "fix") in page and _i18n.t("en", "fix.remediate") not in page


def test_every_language_has_every_text_with_the_same_placeholders():
    fields = string.Formatter()
    for lang in _i18n.LANGUAGES:
        assert set(_i18n.STRINGS[lang]) == set(_i18n.STRINGS["en"]), lang
        for key, text in _i18n.STRINGS[lang].items():
            names = {f[1] for f in fields.parse(text) if f[1]}
            assert names == {f[1] for f in fields.parse(_i18n.STRINGS["en"][key]) if f[1]}, (lang, key)


# --- switches, waivers, tags -------------------------------------------------------------------


def getter(values):
    def lookup_var(name):
        if name not in values:
            raise KeyError(name)
        return values[name]

    return lookup_var


def test_switches_by_list_and_by_per_code_variable():
    values = {
        "vmbackup_disabled_codes": ["user_error_fs_freeze_failed"],  # role names and aliases are accepted
        "vmbackup_disable_extension_failed_vss_writer_in_bad_state": "yes",
        "vmbackup_disable_sql_server_snapshot_delay": False,
    }
    assert _controls.disabled_codes(getter(values)) == [FS, VSS]
    assert _controls.disable_var(VSS) == "vmbackup_disable_extension_failed_vss_writer_in_bad_state"
    with pytest.raises(_controls.ControlError, match="vmbackup_disabled_codes.*NoSuchCode"):
        _controls.disabled_codes(getter({"vmbackup_disabled_codes": ["NoSuchCode"]}))
    with pytest.raises(_controls.ControlError, match="vmbackup_disable_extension_failed_vss_writer_in_bad_state"):
        _controls.disabled_codes(getter({"vmbackup_disable_extension_failed_vss_writer_in_bad_state": "maybe"}))


def test_waivers_merge_expire_and_name_bad_input():
    today = datetime.date(2026, 11, 26)
    values = {
        "vmbackup_waivers": [{"code": VSS, "reason": "host: change window", "until": datetime.date(2026, 12, 1)}],
        "vmbackup_waivers_sql": [
            {"code": "user_error_fs_freeze_failed", "reason": "group: expired", "until": "2026-11-25"},
            {"code": VSS, "reason": "group: older", "until": "2026-11-30"},
        ],
        "vmbackup_waiversX": [{"code": VSS, "reason": "not a waiver variable"}],
    }
    found = _controls.controls(getter(values), list(values), today)
    assert found["waived"] == [VSS]
    assert found["waivers"][VSS]["reason"] == "host: change window"  # the later end wins
    assert found["waivers"][FS]["active"] is False and found["waivers"][FS]["until"] == "2026-11-25"
    bad = [
        ({"vmbackup_waivers": [{"code": VSS}]}, r"vmbackup_waivers\[0\]: a waiver needs a reason"),
        ({"vmbackup_waivers": [{"code": "Nope", "reason": "r"}]}, r"vmbackup_waivers\[0\]\.code"),
        ({"vmbackup_waivers_g": [{"code": VSS, "reason": "r", "until": "soon"}]}, r"vmbackup_waivers_g\[0\]: until"),
        ({"vmbackup_waivers": [{"code": VSS, "reason": "r", "host": "x"}]}, "unknown key"),
        ({"vmbackup_waivers": {"code": VSS}}, "must be a list"),
    ]
    for values, message in bad:
        with pytest.raises(_controls.ControlError, match=message):
            _controls.controls(getter(values), list(values), today)


def test_tags_select_codes_like_ansible_does():
    codes = [VSS, FS]
    assert _controls.select_by_tags(codes, ["all"], []) == codes
    assert _controls.select_by_tags(codes, None, None) == codes
    assert _controls.select_by_tags(codes, [VSS], []) == [VSS]
    assert _controls.select_by_tags(codes, ["all"], [VSS]) == [FS]
    assert _controls.select_by_tags(codes, ["tagged"], []) == codes
    assert _controls.select_by_tags(codes, ["all"], ["tagged"]) == []
    assert _controls.select_by_tags(codes, ["something_else"], []) == []


def test_apply_waivers_copies_findings():
    original = [finding(VSS, "fail")]
    out = _controls.apply_waivers(original, {VSS: {**WAIVER, "source": "vmbackup_waivers"}})
    assert out[0]["waiver"] == WAIVER and "waiver" not in original[0]
