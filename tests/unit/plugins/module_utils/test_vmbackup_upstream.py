"""vmbackup.conf against the Linux backup extension's own reading rules.

No registry ships the extension, so its rules are written down in docs/upstream/vmbackup-extension.md
(Azure/azure-linux-extensions commit b7eecd4b, VMBackup/main, with file and line). ``extension_value``
and ``extension_switch`` below model those rules (R1, R2, R4) in our own words; every test asserts that
what our module writes, or what our finding says, is what that model of the extension reads.
"""

from __future__ import annotations

import configparser

import pytest
from ansible_collections.vmbackup.azure.plugins.module_utils._vmbackup_conf import (
    ConfError,
    desired_settings,
    evaluate_vmbackup_conf,
    plan_conf,
    validate_settings,
)


def extension_value(text, key):
    """R1: a fresh ConfigParser() per key, section 'SnapshotThread', any exception -> None."""
    try:
        parser = configparser.ConfigParser()
        parser.read_string(text)
        if parser.has_option("SnapshotThread", key):
            return parser.get("SnapshotThread", key)
    except Exception:  # the extension swallows everything
        return None
    return None


def extension_switch(text, key):
    """R2: WriteLog / UploadStatusAndLog are on when unset or exactly 'True'."""
    value = extension_value(text, key)
    return value in (None, "", "True")


def extension_int(text, key, default):
    """R4: int(value), else the default."""
    value = extension_value(text, key)
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def facts(text):
    return {"vmbackup_conf": {"path": "/etc/azure/vmbackup.conf", "exists": True, "content": text, "error": None}}


# --- booleans -----------------------------------------------------------------------------------


def test_written_booleans_are_read_as_meant():
    for wanted in (True, False):
        new, _changes = plan_conf("[SnapshotThread]\n", "SnapshotThread", validate_settings({"WriteLog": wanted})[0])
        assert extension_switch(new, "writelog") is wanted, new
        assert "writelog = " + ("True" if wanted else "False") in new


def test_a_correct_true_is_not_rewritten_nor_reported():
    text = "[SnapshotThread]\nWriteLog = True\n"
    finding = evaluate_vmbackup_conf(facts(text), {"settings": {"writelog": True}})
    assert extension_switch(text, "writelog") is True
    assert finding["status"] == "pass", finding
    assert "reads as off" not in finding["detail"]


def test_other_spellings_are_reported_as_the_extension_reads_them():
    text = "[SnapshotThread]\nwritelog = true\nuploadstatusandlog = yes\n"
    assert extension_switch(text, "writelog") is False and extension_switch(text, "uploadstatusandlog") is False
    detail = evaluate_vmbackup_conf(facts(text), {})["detail"]
    assert "writelog = true reads as off" in detail and "uploadstatusandlog = yes reads as off" in detail


# --- no-effect keys -----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["onappfailuredofsfreeze", "OnAppSuccessDoFsFreeze"])
def test_no_effect_keys_are_refused_and_reported(key):
    with pytest.raises(ConfError, match="no effect"):
        validate_settings({key: False})
    detail = evaluate_vmbackup_conf(facts(f"[SnapshotThread]\n{key} = False\n"), {})["detail"]
    assert f"{key.lower()} has no effect" in detail


# --- isanysnapshotfailed ------------------------------------------------------------------------


def test_asr_writes_false_and_keeps_an_existing_false():
    settings, _remove = desired_settings({"asr": True})
    assert settings["isanysnapshotfailed"] == "False"
    text = "[SnapshotThread]\nisanysnapshotfailed = False\n"
    assert plan_conf(text, "SnapshotThread", settings) == (text, [])
    finding = evaluate_vmbackup_conf(facts(text), {"asr": True})
    assert finding["status"] == "pass" and "2019-01-29" in finding["detail"]
    new, _changes = plan_conf("[SnapshotThread]\n", "SnapshotThread", settings)
    assert extension_value(new, "isanysnapshotfailed") == "False"  # the value the old extensions compared with


# --- a '%' in one value -------------------------------------------------------------------------


def test_percent_in_another_section_is_scoped_to_that_key():
    text = "[SnapshotThread]\ntimeout = 90\nwritelog = True\n[Monitor]\nlocation = /var/log/%h\n"
    assert extension_int(text, "timeout", 60) == 90  # every [SnapshotThread] key is still read
    finding = evaluate_vmbackup_conf(facts(text), {})
    assert "is ignored by the extension" not in finding["detail"]
    assert "[Monitor] location cannot be read" in finding["detail"] and "only that setting" in finding["detail"]
    assert finding["status"] == "pass"


# --- values the extension cannot use ------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"timeout": "2m"}, "whole number"),
        ({"safefreezewaitinseconds": "1.5"}, "whole number"),
        ({"mountstoskip": ["/mnt/a/"]}, "trailing '/'"),
        ({"mountstoskip": "/,/data"}, "always freezes"),
        ({"writelog": "yes"}, "boolean"),
    ],
)
def test_unusable_values_are_refused(settings, match):
    with pytest.raises(ConfError, match=match):
        validate_settings(settings)


def test_mountstoskip_with_blanks_is_normalised_to_what_matches():
    value = validate_settings({"mountstoskip": "/a, /b"})[0]["mountstoskip"]
    new, _changes = plan_conf("[SnapshotThread]\n", "SnapshotThread", {"mountstoskip": value})
    assert extension_value(new, "mountstoskip").split(",") == ["/a", "/b"]


def test_unusable_values_in_the_file_are_reported():
    text = "[SnapshotThread]\ntimeout = 2m\nmountstoskip = /a, /b,/c/,/\n"
    assert extension_int(text, "timeout", 60) == 60
    detail = evaluate_vmbackup_conf(facts(text), {})["detail"]
    assert "timeout = 2m is not a whole number: the extension uses its default 60" in detail
    assert "' /b' has blanks" in detail and "'/c/' ends with '/'" in detail and "lists '/'" in detail


def test_remove_also_removes_the_default_section_value():
    text = "[DEFAULT]\ntimeout = 30\n[SnapshotThread]\ntimeout = 90\n[Other]\nx = 1\n"
    new, changes = plan_conf(text, "SnapshotThread", {}, ["timeout"])
    assert extension_value(new, "timeout") is None, new
    assert any("[DEFAULT] remove timeout" in c for c in changes)
    finding = evaluate_vmbackup_conf(facts(text), {"remove": ["timeout"]})
    assert finding["status"] == "fail"  # before: the extension still reads timeout from [DEFAULT]


def test_lowercase_section_is_reported_and_refused():
    text = "[snapshotthread]\ntimeout = 90\n"
    assert extension_value(text, "timeout") is None
    assert "section [snapshotthread] is never read" in evaluate_vmbackup_conf(facts(text), {})["detail"]
    with pytest.raises(ConfError, match="case-sensitive"):
        desired_settings({"section": "snapshotthread", "settings": {"timeout": 90}})
