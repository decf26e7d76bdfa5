"""guest_os: the OS of a host from its connection variables, without a remote call."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.vmbackup.azure.plugins.filter.guest_os import guest_os


@pytest.mark.parametrize(
    "host_vars, expected",
    [
        ({"ansible_connection": "winrm"}, "windows"),
        ({"ansible_connection": "ansible.builtin.psrp"}, "windows"),
        ({"ansible_connection": "vmbackup.azure.winsim"}, "windows"),
        ({"ansible_connection": "ssh", "ansible_shell_type": "powershell"}, "windows"),
        ({"ansible_connection": "ssh"}, "linux"),
        ({}, "linux"),
        ({"ansible_connection": "winrm", "vmbackup_os": "Linux"}, "linux"),
    ],
)
def test_guest_os(host_vars, expected):
    assert guest_os(host_vars) == expected


def test_bad_override_names_the_variable():
    with pytest.raises(AnsibleFilterError, match="vmbackup_os"):
        guest_os({"vmbackup_os": "solaris"})


def test_one_os_detector_for_the_filter_the_scan_and_the_report():
    # The filter (remediate.yml, triage.yml), the scan and the report all decide with plugin_utils/_guest_os.py,
    # so a host is the same OS everywhere and vmbackup_os is honoured everywhere.
    from ansible_collections.vmbackup.azure.plugins.action import backup_report, backup_scan
    from ansible_collections.vmbackup.azure.plugins.filter import guest_os as guest_os_filter
    from ansible_collections.vmbackup.azure.plugins.plugin_utils import _guest_os

    assert guest_os_filter._guest_os is _guest_os.guest_os
    assert backup_scan.guest_os is _guest_os.guest_os
    assert backup_report.guest_os is _guest_os.guest_os


def test_report_honours_vmbackup_os_and_names_a_bad_one():
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._guest_os import GuestOsError
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._guest_os import guest_os as detect

    assert detect({"ansible_connection": "winrm", "vmbackup_os": "linux"}, "powershell") == "linux"
    with pytest.raises(GuestOsError, match="vmbackup_os"):
        detect({"vmbackup_os": "solaris"})


def test_remediate_report_names_a_bad_vmbackup_os_as_the_hosts_failure():
    from types import SimpleNamespace

    from ansible_collections.vmbackup.azure.plugins.action.backup_report import ActionModule

    action = object.__new__(ActionModule)
    action._templar = SimpleNamespace(template=lambda value: value)
    hostvars = {"web1": {"vmbackup_os": "solaris"}}
    result = action._fix_results("web1", hostvars, "vmbackup_remediate_failures", check=False)
    assert result["failed"] is True and "vmbackup_os" in result["msg"]
