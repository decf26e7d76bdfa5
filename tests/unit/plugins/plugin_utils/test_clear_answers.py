"""Clear answers and no secret in a URL (the parts owned by the fleet/report side).

- consent by spelling: vmbackup_disable_<Code> and vmbackup_disable_<snake_case> both switch a code off;
  an unknown vmbackup_disable_* is refused, naming the variable;
- signed URLs (SAS) and URL credentials never reach a report or a fix text;
- vmbackup_error_codes '' means every code, ',' is refused; -380008 is no code;
- malformed results make backup_report refuse before anything is written;
- Windows over SSH with ansible_shell_type cmd (or powershell) is Windows, in the filter and the scan alike.
"""

from __future__ import annotations

import datetime
import json

import junitparser
import pytest
from ansible_collections.vmbackup.azure.plugins.module_utils._catalog import lookup, normalize_codes
from ansible_collections.vmbackup.azure.plugins.plugin_utils import _controls
from ansible_collections.vmbackup.azure.plugins.plugin_utils._guest_os import GuestOsError, guest_os
from ansible_collections.vmbackup.azure.plugins.plugin_utils._html import render_html
from ansible_collections.vmbackup.azure.plugins.plugin_utils._junit import build_junit
from ansible_collections.vmbackup.azure.plugins.plugin_utils._redact import redact_text
from ansible_collections.vmbackup.azure.plugins.plugin_utils._report import build_report, table

NOW = datetime.datetime(2026, 11, 26, 12, 0, tzinfo=datetime.UTC)
NSN = "ExtensionSnapshotFailedNoSecureNetwork"
SAS = "https://contoso.blob.core.windows.net/agents/WindowsAzureVmAgent.msi?sv=2024-08-04&se=2026-12-01&sp=r&sig=S3cr3tS1gnature%3D"


def controls_of(host_vars):
    return _controls.controls(_controls.var_lookup(host_vars), list(host_vars))


@pytest.mark.parametrize(
    "name", [f"vmbackup_disable_{NSN}", "vmbackup_disable_extension_snapshot_failed_no_secure_network"]
)
def test_both_spellings_of_a_switch_turn_the_code_off(name):
    assert controls_of({name: "true"})["disabled"] == [NSN]
    assert controls_of({name: False})["disabled"] == []


def test_an_unknown_switch_is_refused_naming_the_variable():
    with pytest.raises(_controls.ControlError, match="vmbackup_disable_ExtensionSnapshotFailedNoSecureNetwrk"):
        controls_of({"vmbackup_disable_ExtensionSnapshotFailedNoSecureNetwrk": True})


def test_the_list_of_disabled_codes_is_not_taken_for_a_switch():
    assert controls_of({"vmbackup_disabled_codes": [NSN]})["disabled"] == [NSN]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"msi_path is {SAS}.",
            "msi_path is https://contoso.blob.core.windows.net/agents/WindowsAzureVmAgent.msi?[query removed].",
        ),
        (
            "from https://user:p4ss@files.example.com:8443/vc/vcredist_x64.exe",
            "from https://files.example.com:8443/vc/vcredist_x64.exe",
        ),
        (
            "see https://learn.microsoft.com/azure/backup/backup-azure-vms-troubleshoot#anchor",
            "see https://learn.microsoft.com/azure/backup/backup-azure-vms-troubleshoot",
        ),
        ("no url here, C:\\Temp\\agent.msi", "no url here, C:\\Temp\\agent.msi"),
    ],
)
def test_urls_lose_userinfo_query_and_fragment(text, expected):
    assert redact_text(text) == expected


def test_no_report_format_carries_a_signed_url_or_a_password():
    finding = {
        "error_code": "VmAgentNotRunning",
        "status": "fail",
        "detail": "agent outdated",
        "fix": f"install the agent from {SAS}",
        "actions": [{"action": "install", "msi_path": SAS, "allowed": False, "disruptive": True}],
    }
    results = {
        "w": {"os_family": "windows", "findings": [finding]},
        "d": {"unreachable": True, "msg": "ssh://bob:hunter2@w:22 refused"},
    }
    report = build_report(["w", "d"], results, now=NOW)
    texts = [json.dumps(report), build_junit(report), render_html(report), "\n".join(table(report))]
    for text in texts:
        assert "sig=" not in text and "S3cr3t" not in text and "hunter2" not in text
    assert "WindowsAzureVmAgent.msi?[query removed]" in report["hosts"][0]["findings"][0]["fix"]
    junitparser.JUnitXml.fromstring(texts[1])  # still valid XML


def test_blank_error_codes_mean_every_code_and_separators_alone_are_refused():
    assert normalize_codes("") == [] and normalize_codes("  ") == [] and normalize_codes(None) == []
    for value in (",", " , ", [""], [","]):
        with pytest.raises(ValueError, match="name no code"):
            normalize_codes(value)


@pytest.mark.parametrize("value", ["-380008", -380008, "+380008", " -380008"])
def test_a_signed_numeric_code_is_no_code(value):
    with pytest.raises(KeyError, match="no sign"):
        lookup(value)
    with pytest.raises(ValueError, match="no sign"):
        normalize_codes([value])
    assert lookup("380008").code == lookup(380008).code == "AzureVmOffline"


@pytest.mark.parametrize(
    "results",
    [{"w": "not a result"}, {"w": {"findings": "oops"}}, {"w": {"findings": ["oops"]}}, ["w"]],
    ids=["str", "findings-str", "finding-str", "list"],
)
def test_malformed_results_are_refused_naming_the_host(results):
    with pytest.raises(ValueError, match="results"):
        build_report(["w"], results, now=NOW)


@pytest.mark.parametrize("shell", ["cmd", "powershell"])
def test_windows_over_ssh_is_windows_whatever_its_shell(shell):
    host_vars = {"ansible_connection": "ssh", "ansible_shell_type": shell}
    assert guest_os(host_vars) == "windows"
    assert guest_os(host_vars, shell_family=shell) == "windows"  # what backup_scan passes: the connection's shell


def test_vmbackup_os_is_honoured_by_the_one_detector():
    assert guest_os({"vmbackup_os": "Windows"}, shell_family="sh") == "windows"
    assert guest_os({"vmbackup_os": "linux", "ansible_connection": "winrm"}, shell_family="powershell") == "linux"
    assert guest_os({"ansible_connection": "ssh"}, shell_family="sh") == "linux"
    with pytest.raises(GuestOsError, match="vmbackup_os"):
        guest_os({"vmbackup_os": "bsd"})
