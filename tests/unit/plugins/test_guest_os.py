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
