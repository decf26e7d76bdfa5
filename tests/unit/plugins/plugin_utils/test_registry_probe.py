"""The probe's registry section: the script asks for exactly PROBE_KEYS / PROBE_DISCOVER, and the
simulator renders them from a state file as the .NET registry API would (signed DWORDs, discovered
version keys, subkey names as stored), through win_powershell's depth limit."""

from __future__ import annotations

import os

import pytest
from ansible_collections.vmbackup.azure.plugins.plugin_utils import _registry as reg
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_probe import (
    PROBE_DEPTH,
    PROBE_SCRIPT,
    SECTIONS,
    build_script,
)
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.commands import ps_convert
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.probe import probe_output
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.state import HostState

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
STATES = os.path.join(ROOT, "tests", "sim", "states")
NET64 = "HKLM:\\SOFTWARE\\Microsoft\\.NETFramework"
NET32 = "HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework"
# The sections these checks read (the SQL check also reads services), as the real probe has them.
SCRIPT = build_script({name: SECTIONS[name] for name in ("services", "registry")})


def test_section_reads_every_key_and_discovery_rule():
    section = SECTIONS["registry"]
    assert section.startswith("# section: registry\n")
    for path in reg.PROBE_KEYS:
        assert "'" + reg.hklm_subpath(path) + "'" in section, path
    for root, pattern in reg.PROBE_DISCOVER:
        assert f"'{reg.hklm_subpath(root)}|{pattern}'" in section
    # read-only API in the 64-bit view, values unexpanded
    assert "RegistryView]::Registry64" in section and "DoNotExpandEnvironmentNames" in section
    for forbidden in ("SetValue", "CreateSubKey", "DeleteValue", "DeleteSubKey", "OpenSubKey($regPath, $true)"):
        assert forbidden not in section
    assert "# section: registry\n" in PROBE_SCRIPT


def render(tmp_path, registry):
    path = tmp_path / "h.yml"
    import yaml

    path.write_text(yaml.safe_dump({"hostname": "H", "registry": registry, "services": {}}))
    state = HostState.load(str(path))
    return ps_convert([probe_output(state, SCRIPT)], PROBE_DEPTH)[0]


def test_renderer_discovers_versions_signed_dwords_and_survives_depth(tmp_path):
    probe = render(
        tmp_path,
        {
            f"{NET64}\\v4.0.30319": {"SchUseStrongCrypto": {"type": "dword", "data": 0xFFFFFFFF}},
            f"{NET64}\\Policy\\v2.0": {},
            "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework\\V2.0.50727": {},
            "HKLM:\\SOFTWARE\\Microsoft\\Microsoft SQL Server": {
                "InstalledInstances": {"type": "multistring", "data": ["MSSQLSERVER", "SALES"]}
            },
        },
    )
    keys = probe["registry"]["keys"]
    assert keys[NET64]["exists"] is True
    assert sorted(keys[NET64]["subkeys"]) == ["Policy", "V2.0.50727", "v4.0.30319"]
    assert keys[f"{NET64}\\v4.0.30319"]["values"]["SchUseStrongCrypto"] == {"type": "dword", "data": -1}
    assert keys[f"{NET64}\\V2.0.50727"] == {"exists": True, "values": {}, "subkeys": []}
    assert f"{NET64}\\Policy" not in keys  # not a version key
    assert keys[NET32] == {"exists": False, "values": {}, "subkeys": []}
    assert keys[reg.SQL_SERVER_KEYS[0]]["values"]["InstalledInstances"]["data"] == ["MSSQLSERVER", "SALES"]
    # and the controller reads it: -1 is 0xFFFFFFFF, not dword 1
    finding = reg.evaluate_dotnet_strong_crypto(probe)
    assert finding["status"] == "fail" and "dword 4294967295" in finding["detail"]


@pytest.mark.parametrize(
    ("state", "dotnet", "bcdr", "sql"),
    [
        ("healthy.yml", "pass", "pass", "pass"),
        ("registry_dotnet_missing.yml", "fail", "pass", "pass"),
        ("registry_dotnet_wrong.yml", "fail", "pass", "pass"),
        ("registry_dotnet_one_view.yml", "fail", "pass", "pass"),
        ("registry_bcdr_missing.yml", "pass", "fail", "pass"),
        ("registry_bcdr_wrong.yml", "pass", "fail", "pass"),
        ("registry_sql_missing.yml", "pass", "pass", "fail"),
        ("registry_sql_wrong.yml", "pass", "pass", "fail"),
        ("registry_no_sql.yml", "pass", "pass", "not_applicable"),
    ],
)
def test_states_break_exactly_what_they_say(state, dotnet, bcdr, sql):
    host = HostState.load(os.path.join(STATES, state))
    probe = ps_convert([probe_output(host, SCRIPT)], PROBE_DEPTH)[0]
    got = (
        reg.evaluate_dotnet_strong_crypto(probe)["status"],
        reg.evaluate_bcdr_agent_keys(probe)["status"],
        reg.evaluate_bcdr_vss_copy_backup(probe)["status"],
    )
    assert got == (dotnet, bcdr, sql)


def test_every_other_state_passes_the_registry_checks():
    others = [
        name
        for name in sorted(os.listdir(STATES))
        if name.endswith(".yml") and not name.startswith("registry_") and name != "healthy.yml"
    ]
    demo = os.path.join(ROOT, "demo", "states")
    paths = [os.path.join(STATES, n) for n in others] + [os.path.join(demo, n) for n in sorted(os.listdir(demo))]
    assert paths
    for path in paths:
        probe = ps_convert([probe_output(HostState.load(path), SCRIPT)], PROBE_DEPTH)[0]
        for evaluate in (reg.evaluate_dotnet_strong_crypto, reg.evaluate_bcdr_agent_keys):
            assert evaluate(probe)["status"] == "pass", (path, evaluate(probe))
        assert reg.evaluate_bcdr_vss_copy_backup(probe)["status"] in ("pass", "not_applicable"), path
