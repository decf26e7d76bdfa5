"""Report-only Windows conditions (plugins/plugin_utils/_windows_conditions.py) and the VMSnapshot .status parser
(plugins/module_utils/_extension_status.py)."""

from __future__ import annotations

import json

import pytest
from ansible_collections.vmbackup.azure.plugins.module_utils import _extension_status as ext
from ansible_collections.vmbackup.azure.plugins.plugin_utils import _windows_conditions as cond
from hypothesis import given, settings
from hypothesis import strategies as st

STATUS_OK = [
    {
        "version": 1.0,
        "timestampUTC": "2026-11-25T02:00:11Z",
        "status": {
            "name": "Microsoft.Azure.RecoveryServices.VMSnapshot",
            "operation": "Enable",
            "status": "success",
            "code": 0,
            "formattedMessage": {"lang": "en-US", "message": "Snapshot succeeded"},
            "substatus": [],
        },
    }
]


def status_probe(content, found=True):
    return {"extension_status": {"found": found, "path": "C:\\x\\1.status", "content": content}}


# ------------------------------------------------------------------ .status parsing


def test_parse_status_reads_the_last_item():
    older = json.loads(json.dumps(STATUS_OK[0]))
    older["status"]["status"] = "error"
    parsed = ext.parse_extension_status(json.dumps([older, STATUS_OK[0]]))
    assert parsed["status"] == "success" and parsed["code"] == "0" and parsed["message"] == "Snapshot succeeded"
    assert parsed["timestamp"] == "2026-11-25T02:00:11Z" and parsed["operation"] == "Enable"


def test_parse_status_bom_single_object_and_substatus():
    item = {
        "status": {
            "status": "error",
            "code": "400",
            "formattedMessage": {"message": "boom"},
            "substatus": [
                {"name": "VssWriters", "status": "error", "code": 7, "formattedMessage": {"message": "x"}},
                3,
            ],
        }
    }
    parsed = ext.parse_extension_status("\ufeff" + json.dumps(item))
    assert parsed["status"] == "error" and parsed["code"] == "400"
    assert parsed["substatus"] == [{"name": "VssWriters", "status": "error", "code": "7", "message": "x"}]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (None, "empty"),
        ("   ", "empty"),
        ('[{"status": {"status": "err', "not valid JSON"),
        ("[]", "non-empty JSON list"),
        ('"text"', "non-empty JSON list"),
        ('[{"nostatus": 1}]', "no 'status' object"),
        ("[1]", "no 'status' object"),
        (12, "not text"),
    ],
)
def test_parse_status_errors_are_clear(text, match):
    with pytest.raises(ext.StatusParseError, match=match):
        ext.parse_extension_status(text)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
_status_like = st.fixed_dictionaries(
    {"status": st.dictionaries(st.sampled_from(["status", "code", "formattedMessage", "substatus", "x"]), _json)}
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.binary(), _json.map(json.dumps), st.lists(_status_like, max_size=3).map(json.dumps)))
def test_parse_status_never_crashes_on_random_input(text):
    try:
        parsed = ext.parse_extension_status(text)
    except ext.StatusParseError as exc:
        assert str(exc)
        return
    assert set(parsed) == {"status", "code", "message", "operation", "name", "timestamp", "substatus"}
    # the evaluator on the same text never raises either
    assert ext.evaluate_extension_status(status_probe(text))["status"] in ("pass", "fail", "error")


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=400), st.text(max_size=5))
def test_mangled_valid_status_is_a_clear_error_or_a_finding(cut, junk):
    text = json.dumps(STATUS_OK)
    mangled = text[:cut] + junk
    finding = ext.evaluate_extension_status(status_probe(mangled))
    assert finding["status"] in ("pass", "fail", "error")
    if finding["status"] == "error":
        assert "status file" in finding["detail"]


# ------------------------------------------------------------------ extension status finding


def test_extension_status_pass_fail_na_error():
    assert ext.evaluate_extension_status(status_probe(json.dumps(STATUS_OK)))["status"] == "pass"
    assert ext.evaluate_extension_status(status_probe(None, found=False))["status"] == "not_applicable"
    assert ext.evaluate_extension_status({})["status"] == "error"
    err = json.loads(json.dumps(STATUS_OK))
    err[0]["status"].update(
        status="error",
        code=400,
        formattedMessage={"message": "ExtensionFailedVssWriterInBadState: writers bad"},
        substatus=[{"name": "VssWriters", "status": "error", "code": 7}],
    )
    finding = ext.evaluate_extension_status(status_probe(json.dumps(err)))
    assert finding["status"] == "fail"
    assert "code 400" in finding["detail"] and "writers bad" in finding["detail"]
    assert "VssWriters: error (code 7)" in finding["detail"]
    assert "ExtensionFailedVssWriterInBadState" in finding["fix"] and "report only" in finding["fix"]
    assert finding["actions"] == []


# ------------------------------------------------------------------ the other conditions


def test_dhcp():
    assert cond.evaluate_dhcp({"nics": [{"name": "e0", "dhcp_enabled": True}]})["status"] == "pass"
    assert cond.evaluate_dhcp({"nics": []})["status"] == "not_applicable"
    assert cond.evaluate_dhcp({"section_errors": {"nics": "WMI down"}, "nics": []})["detail"].endswith("WMI down")
    finding = cond.evaluate_dhcp({"nics": [{"name": "e0", "dhcp_enabled": False, "ip_addresses": ["10.0.0.5"]}]})
    assert finding["status"] == "fail" and "'e0' (10.0.0.5)" in finding["detail"]
    assert finding["fix"].startswith("report only") and finding["actions"] == []


def test_dns():
    ok = {"name": "management.azure.com", "resolved": True, "addresses": ["1.2.3.4"]}
    bad = {"name": "x.blob.core.windows.net", "resolved": False, "error": "No such host is known"}
    assert cond.evaluate_dns({"dns": [ok]})["status"] == "pass"
    assert cond.evaluate_dns({"dns": []})["status"] == "not_applicable"
    finding = cond.evaluate_dns({"dns": [ok, bad]})
    assert finding["status"] == "fail" and "x.blob.core.windows.net (No such host is known)" in finding["detail"]
    assert cond.evaluate_dns({})["status"] == "error"


def test_resources_threshold():
    probe = {"resources": {"cpu_percent": 91.0, "memory_percent": 40.0}}
    assert cond.evaluate_resources(probe)["status"] == "fail"
    assert "CPU above 90 %" in cond.evaluate_resources(probe)["detail"]
    assert cond.evaluate_resources(probe, {"threshold": 95})["status"] == "pass"
    assert cond.evaluate_resources({"resources": {"cpu_percent": 90.0}})["status"] == "pass"  # above, not at
    assert cond.evaluate_resources({"resources": {}})["status"] == "error"
    assert cond.evaluate_resources(probe, {"threshold": "lots"})["status"] == "error"


def test_backup_events():
    event = {"id": 517, "provider": "Microsoft-Windows-Backup", "time_created": "2026-11-24T01:00:00Z", "message": "m"}
    other = dict(event, provider="Some Other Source")
    assert cond.evaluate_backup_events({"events": {"days": 7, "backup_failures": []}})["status"] == "pass"
    assert cond.evaluate_backup_events({"events": {"days": 7, "backup_failures": [other]}})["status"] == "pass"
    finding = cond.evaluate_backup_events({"events": {"days": 7, "backup_failures": [event, event]}})
    assert finding["status"] == "fail" and "2 event(s) 517" in finding["detail"]
    assert cond.evaluate_backup_events({"events": {"error": "access denied"}})["status"] == "error"


def test_probe_parameters_from_vars_and_validation():
    def lookup(values):
        def inner(name):
            if name not in values:
                raise KeyError(name)
            return values[name]

        return inner

    assert cond.probe_parameters(lookup({})) == {
        "AzureEndpointNames": list(cond.DEFAULT_ENDPOINT_NAMES),
        "BackupEventDays": 7,
    }
    got = cond.probe_parameters(
        lookup({"vmbackup_azure_endpoint_names": "a.example, b.example a.example", "vmbackup_backup_event_days": "3"})
    )
    assert got == {"AzureEndpointNames": ["a.example", "b.example"], "BackupEventDays": 3}
    with pytest.raises(ValueError, match="not a DNS name"):
        cond.probe_parameters(lookup({"vmbackup_azure_endpoint_names": ["bad name"]}))
    with pytest.raises(ValueError, match="between 1 and 365"):
        cond.probe_parameters(lookup({"vmbackup_backup_event_days": 0}))
