"""Unit tests of plugins/module_utils/_vmbackup_conf.py: the parser agrees with Python's ConfigParser
(the extension's reader), the planner never writes a file the extension would read differently, and
the evaluator's finding."""

from __future__ import annotations

import configparser

import pytest
from ansible_collections.vmbackup.azure.plugins.module_utils._vmbackup_conf import (
    ConfError,
    configparser_errors,
    evaluate_vmbackup_conf,
    parse_conf,
    plan_conf,
    plugin_host_conf_fixed_mode,
    plugin_host_conf_problems,
    raw_settings,
    validate_settings,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DUPLICATES = """# operator's note: do not freeze the scratch disk
[SnapshotThread]
MountsToSkip = /mnt/a,/mnt/b
timeout: 90
mountstoskip=/mnt/c,/mnt/a

[Monitor]
run = no
"""


def facts(content, exists=True, host=None):
    return {
        "vmbackup_conf": {
            "path": "/etc/azure/vmbackup.conf",
            "exists": exists,
            "content": content,
            "error": None,
            "plugin_host_conf": host or {"exists": False},
        }
    }


def test_duplicate_keys_are_what_python3_refuses_and_are_merged_lowercase():
    assert configparser_errors(DUPLICATES), "Python 3's strict parser refuses MountsToSkip beside mountstoskip"
    new, changes = plan_conf(DUPLICATES, "SnapshotThread", {}, [])
    assert configparser_errors(new) == []
    assert raw_settings(new)["SnapshotThread"]["mountstoskip"] == "/mnt/a,/mnt/b,/mnt/c"
    assert "MountsToSkip" not in new and new.count("mountstoskip") == 1
    assert new.startswith("# operator's note"), "comments are kept"
    assert "timeout: 90" in new, "keys not touched keep their lines"
    assert raw_settings(new)["Monitor"] == {"run": "no"}
    assert any("merge" in c for c in changes)
    assert plan_conf(new, "SnapshotThread", {}, []) == (new, [])


def test_settings_lowercase_added_to_the_section_and_idempotent():
    new, changes = plan_conf(DUPLICATES, "SnapshotThread", {"isanysnapshotfailed": "false", "timeout": "120"}, [])
    parsed = raw_settings(new)["SnapshotThread"]
    assert parsed["isanysnapshotfailed"] == "false" and parsed["timeout"] == "120"
    assert "timeout = 120" in new
    assert plan_conf(new, "SnapshotThread", {"isanysnapshotfailed": "false", "timeout": "120"}, [])[1] == []


def test_new_file_and_removal():
    new, changes = plan_conf(None, "SnapshotThread", {"mountstoskip": "/x"}, [])
    assert new == "[SnapshotThread]\nmountstoskip = /x\n"
    assert plan_conf(new, "SnapshotThread", {}, ["MountsToSkip"]) == (
        "[SnapshotThread]\n",
        ["[SnapshotThread] remove mountstoskip"],
    )


def test_conflicting_duplicates_need_a_decision():
    text = "[SnapshotThread]\nTimeout = 60\ntimeout = 90\n"
    with pytest.raises(ConfError, match="different values"):
        plan_conf(text, "SnapshotThread", {}, [])
    new, dummy = plan_conf(text, "SnapshotThread", {"timeout": "90"}, [])
    assert raw_settings(new) == {"SnapshotThread": {"timeout": "90"}}


@pytest.mark.parametrize(
    "text,match",
    [
        ("timeout = 60\n", "before any"),
        ("[SnapshotThread]\nthis line has no delimiter\n", "neither"),
        ("[SnapshotThread]\na = 1\n[SnapshotThread]\nb = 2\n", "more than once"),
    ],
)
def test_unparsable_files_are_refused(text, match):
    assert configparser_errors(text)
    with pytest.raises(ConfError, match=match):
        plan_conf(text, "SnapshotThread", {"timeout": "60"}, [])


@pytest.mark.parametrize(
    "settings,match",
    [
        ({"Time Out": 1}, "not a plain setting name"),
        ({"timeout": "5%"}, "%%"),
        ({"mountstoskip": ["relative/path"]}, "absolute"),
        ({"snapshotmethod": "sometimes"}, "one of"),
        ({"a": "x", "A": "y"}, "twice"),
        ({"a": None}, "no value"),
    ],
)
def test_bad_settings_name_the_input(settings, match):
    with pytest.raises(ConfError, match=match):
        validate_settings(settings)


def test_values_are_rendered_as_the_extension_compares_them():
    out, dummy = validate_settings({"onlylocalfilesystems": True, "MountsToSkip": ["/a", "/b "], "timeout": 90})
    assert out == {"onlylocalfilesystems": "True", "mountstoskip": "/a,/b", "timeout": "90"}


def test_evaluator_reports_the_ignored_file_and_the_legacy_key():
    finding = evaluate_vmbackup_conf(facts(DUPLICATES), {"asr": True})
    assert finding["status"] == "fail"
    assert "ignored by the extension" in finding["detail"]
    assert "legacy" in finding["detail"]
    assert "control plane, report only" in finding["fix"]
    assert finding["actions"][0]["allowed"] is True
    clean = finding["new_content"]
    again = evaluate_vmbackup_conf(facts(clean), {"asr": True})
    assert again["status"] == "pass", again
    assert "legacy" in again["detail"]


def test_evaluator_absent_file_passes_and_unparsable_fails_without_fix():
    assert evaluate_vmbackup_conf(facts(None, exists=False), {})["status"] == "pass"
    finding = evaluate_vmbackup_conf(facts("garbage\n"), {})
    assert finding["status"] == "fail"
    assert finding["actions"][0]["allowed"] is False
    assert "none possible automatically" in finding["fix"]
    assert evaluate_vmbackup_conf({}, {})["status"] == "error"
    assert evaluate_vmbackup_conf(facts(None, exists=False), {"settings": {"bad key": 1}})["status"] == "error"


def test_plugin_host_conf_rule():
    assert plugin_host_conf_problems({"exists": True, "uid": 0, "mode": 0o644}) == []
    assert plugin_host_conf_problems({"exists": True, "uid": 0, "mode": 0o600}) == []
    problems = plugin_host_conf_problems({"exists": True, "uid": 1000, "mode": 0o666})
    assert len(problems) == 2
    assert plugin_host_conf_fixed_mode(0o666) == 0o644
    assert plugin_host_conf_fixed_mode(0o775) == 0o744
    finding = evaluate_vmbackup_conf(facts(None, exists=False, host={"exists": True, "uid": 0, "mode": 0o664}), {})
    assert finding["status"] == "fail" and finding["actions"][0]["action"] == "fix_plugin_host_conf"


# ---------------------------------------------------------------------------------------------
# Property tests: our line parser is ConfigParser's, and a plan never surprises the extension

_key = st.sampled_from(["timeout", "Timeout", "MountsToSkip", "mountstoskip", "writelog", "a.b", "x_y", "k"])
_value = st.text(alphabet="abc /,=:%\t", max_size=8)
_section = st.sampled_from(["SnapshotThread", "Monitor", "lsblkUser", "snapshotthread"])
_line = st.one_of(
    st.builds(lambda s: f"[{s}]", _section),
    st.builds(lambda k, d, v: f"{k}{d}{v}", _key, st.sampled_from([" = ", "=", ": ", " :"]), _value),
    st.builds(lambda i, v: " " * i + v, st.integers(1, 3), _value),
    st.sampled_from(["", "# comment", "; other", "   ", "\t[Monitor]", "[bad", "no delimiter"]),
)
_text = st.lists(_line, max_size=12).map(lambda lines: "\n".join(lines) + st_choice_newline(lines))


def st_choice_newline(lines):
    return "\n" if len(lines) % 2 else ""


def _reference(text, strict):
    parser = configparser.RawConfigParser(strict=strict)
    parser.read_string(text)
    return {s: dict(parser.items(s, raw=True)) for s in parser.sections()}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_text)
def test_parse_conf_is_configparser(text):
    parsed = parse_conf(text)
    try:
        reference = _reference(text, strict=True)
    except configparser.Error:
        assert parsed["errors"] or parsed["duplicates"] or parsed["duplicate_sections"]
        return
    assert not parsed["errors"] and not parsed["duplicates"] and not parsed["duplicate_sections"]
    ours = {}
    for sec in parsed["sections"]:
        ours.setdefault(sec["name"], {}).update({e["key"]: e["value"] for e in sec["entries"]})
    assert ours == reference


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    _text,
    st.lists(st.sampled_from([("timeout", "1"), ("writelog", "true"), ("mountstoskip", "/m,/n")]), max_size=3).map(
        dict
    ),
    st.lists(st.sampled_from(["seqsnapshot", "k"]), max_size=2),
)
def test_a_plan_is_read_by_the_extension_as_intended(text, wanted, remove):
    wanted, remove = validate_settings(wanted, remove)
    try:
        new, changes = plan_conf(text, "SnapshotThread", wanted, remove)
    except ConfError:
        return  # refused: nothing is written
    errors = configparser_errors(new)
    assert not [e for e in errors if not e.startswith("[")], (text, new, errors)
    got = raw_settings(new)
    for key, value in wanted.items():
        assert got["SnapshotThread"][key] == value
    for key in remove:
        assert key not in got.get("SnapshotThread", {})
    assert plan_conf(new, "SnapshotThread", wanted, remove)[1] == [], "a second run changes nothing"
    if not changes:
        assert new == text or text.strip() == "" or new.rstrip("\n") == text.rstrip("\n")


def test_removing_a_default_key_says_it_applied_to_every_section():
    """Review NICE 11: a [DEFAULT] key applies to every section; the change list says so."""
    text = "[DEFAULT]\ntimeout = 5\n[SnapshotThread]\nfsfreeze = True\n[Other]\nx = 1\n"
    new, changes = plan_conf(text, "SnapshotThread", {}, ["timeout"])
    assert "timeout" not in new
    (change,) = changes
    assert change.startswith("[DEFAULT] remove timeout") and "every section" in change, change
    new, changes = plan_conf("[SnapshotThread]\ntimeout = 5\n", "SnapshotThread", {}, ["timeout"])
    assert changes == ["[SnapshotThread] remove timeout"]
