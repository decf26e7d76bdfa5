"""Registry planner and evaluators (plugins/plugin_utils/_registry.py) with plain probe dicts."""

from __future__ import annotations

import copy

import pytest
from ansible_collections.vmbackup.azure.plugins.plugin_utils import _registry as reg

NET64 = "HKLM:\\SOFTWARE\\Microsoft\\.NETFramework"
NET32 = "HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework"
SQL64, SQL32 = reg.SQL_SERVER_KEYS


def key(values=None, subkeys=(), exists=True):
    return {"exists": exists, "values": values or {}, "subkeys": list(subkeys)}


def dword(data):
    return {"type": "dword", "data": data}


def sz(data):
    return {"type": "string", "data": data}


def absent():
    return key(exists=False)


# every Windows host runs RPC: a service list without a running service is implausible (an error)
RPCSS = {"name": "RpcSs", "state": "running", "start_mode": "auto", "username": "NT AUTHORITY\\NetworkService"}


def probe(keys=None, services=None, **extra):
    """A probe with every PROBE_KEYS key absent unless given."""
    all_keys = {path: absent() for path in reg.PROBE_KEYS}
    all_keys.update(keys or {})
    out = {
        "probe": "vmbackup.azure.windows_probe",
        "version": 1,
        "section_errors": {},
        "registry": {"keys": all_keys},
        "services": [RPCSS, *(services or [])],
    }
    out.update(extra)
    return out


def dotnet(v64=None, v32=None, extra_subkeys=("Policy", "AssemblyFolders")):
    """.NET keys: {version: values} per view; None = view has no .NETFramework key."""
    keys = {}
    for root, versions in ((NET64, v64), (NET32, v32)):
        if versions is None:
            keys[root] = absent()
            continue
        keys[root] = key({"InstallRoot": sz("C:\\Windows\\Microsoft.NET\\Framework64\\")}, [*versions, *extra_subkeys])
        for version, values in versions.items():
            keys[f"{root}\\{version}"] = key(values)
    return keys


GOOD = {reg.STRONG_CRYPTO: dword(1)}
BCDR_OK = {
    reg.BCDR_PERSISTENT_KEYS: key(
        {"SnapshotMethod": sz("firstHostThenGuest"), "CalculateSnapshotTimeFromHost": sz("True")}
    )
}


# --------------------------------------------------------------------------- planner


def test_plan_values_type_aware_and_reasons():
    keys = reg.registry_keys(
        probe(
            {
                "HKLM:\\SOFTWARE\\A": key({"ok": dword(1), "zero": dword(0), "text": sz("1"), "Mixed": sz("x")}),
            }
        )
    )
    # registry_keys refuses paths the probe did not read: add the B key as absent
    keys[reg.norm_path("HKLM:\\SOFTWARE\\B")] = {
        "path": "HKLM:\\SOFTWARE\\B",
        "exists": False,
        "values": {},
        "subkeys": [],
        "error": None,
    }
    wanted = [
        reg.desired("HKLM:\\SOFTWARE\\A", "ok", "dword", 1),
        reg.desired("HKLM:\\SOFTWARE\\A", "zero", "dword", 1),
        reg.desired("HKLM:\\SOFTWARE\\A", "text", "dword", 1),
        reg.desired("HKLM:\\SOFTWARE\\A", "missing", "dword", 1),
        reg.desired("hklm:\\software\\a", "MIXED", "string", "x"),  # case-insensitive key and value names
        reg.desired("HKLM:\\SOFTWARE\\B", "v", "string", "TRUE"),
    ]
    changes = reg.plan_values(keys, wanted)
    assert [(c["name"], c["reason"]) for c in changes] == [
        ("zero", "wrong data"),
        ("text", "wrong type"),
        ("missing", "value missing"),
        ("v", "key missing"),
    ]
    assert changes[1]["current"] == {"type": "string", "data": "1"}
    assert changes[2]["current"] is None and changes[2]["key_exists"] is True
    assert changes[3]["key_exists"] is False
    assert all(c["allowed"] and not c["disruptive"] and c["action"] == "set_registry_value" for c in changes)


def test_signed_dword_from_dotnet_equals_unsigned():
    keys = reg.registry_keys(probe({"HKLM:\\SOFTWARE\\A": key({"all": dword(-1), "q": {"type": "qword", "data": -1}})}))
    wanted = [
        reg.desired("HKLM:\\SOFTWARE\\A", "all", "dword", 0xFFFFFFFF),
        reg.desired("HKLM:\\SOFTWARE\\A", "q", "qword", 0xFFFFFFFFFFFFFFFF),
    ]
    assert reg.plan_values(keys, wanted) == []


def test_string_comparison_is_case_sensitive():
    keys = reg.registry_keys(probe({reg.BCDRAGENT: key({"USEVSSCOPYBACKUP": sz("true")})}))
    (change,) = reg.plan_values(keys, [reg.desired(reg.BCDRAGENT, "USEVSSCOPYBACKUP", "string", "TRUE")])
    assert change["reason"] == "wrong data"


def test_desired_rejects_unknown_type():
    with pytest.raises(ValueError, match="not one of"):
        reg.desired("HKLM:\\SOFTWARE\\A", "x", "REG_DWORD", 1)


def test_hklm_subpath_only_hklm():
    assert reg.hklm_subpath("HKLM:\\SOFTWARE\\X\\") == "SOFTWARE\\X"
    with pytest.raises(ValueError):
        reg.hklm_subpath("HKCU:\\Software\\X")


# --------------------------------------------------------------------------- section errors


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (None, "no Windows probe result"),
        ({"probe": "x"}, "no registry section"),
        (
            {"registry": {"keys": {}}, "section_errors": {"registry": "Access denied"}},
            "registry section failed: Access",
        ),
        ({"registry": {"keys": {"HKLM:\\SOFTWARE\\A": "flat"}}}, "expected a mapping"),
    ],
)
def test_section_missing_or_errored_is_error(bad, match):
    for evaluate in (
        reg.evaluate_dotnet_strong_crypto,
        reg.evaluate_bcdr_agent_keys,
        reg.evaluate_bcdr_vss_copy_backup,
    ):
        finding = evaluate(bad, {})
        assert finding["status"] == "error"
        assert match in finding["detail"], finding["detail"]


def test_key_not_read_by_probe_is_error():
    p = probe()
    del p["registry"]["keys"][reg.BCDR_PERSISTENT_KEYS]
    finding = reg.evaluate_bcdr_agent_keys(p)
    assert finding["status"] == "error" and "did not read" in finding["detail"]


def test_key_read_error_is_error():
    p = probe({reg.BCDR_PERSISTENT_KEYS: {**key(), "error": "Requested registry access is not allowed."}})
    finding = reg.evaluate_bcdr_agent_keys(p)
    assert finding["status"] == "error" and "not allowed" in finding["detail"]


# --------------------------------------------------------------------------- .NET


def test_dotnet_all_set_passes():
    p = probe(dotnet({"v2.0.50727": GOOD, "v4.0.30319": GOOD}, {"v2.0.50727": GOOD, "v4.0.30319": GOOD}))
    finding = reg.evaluate_dotnet_strong_crypto(p)
    assert finding["status"] == "pass", finding
    assert "4 .NET Framework version keys" in finding["detail"]
    assert finding["fix"] == "" and finding["actions"] == []


def test_dotnet_versions_are_discovered_not_hard_coded():
    p = probe(dotnet({"v1.1.4322": {}, "v4.0.30319": GOOD, "v9.9.99999": {"SchUseStrongCrypto": dword(0)}}, {}))
    finding, changes = reg.assess_dotnet_strong_crypto(p)
    assert finding["status"] == "fail"
    assert [c["path"] for c in changes] == [f"{NET64}\\v1.1.4322", f"{NET64}\\v9.9.99999"]
    # Policy / AssemblyFolders are subkeys but not version keys
    assert not any("Policy" in c["path"] or "AssemblyFolders" in c["path"] for c in changes)


def test_dotnet_wow6432node_view_checked():
    p = probe(dotnet({"v4.0.30319": GOOD}, {"v4.0.30319": {"SchUseStrongCrypto": sz("1")}, "v2.0.50727": {}}))
    finding, changes = reg.assess_dotnet_strong_crypto(p)
    assert finding["status"] == "fail"
    assert {(c["path"], c["reason"]) for c in changes} == {
        (f"{NET32}\\v4.0.30319", "wrong type"),
        (f"{NET32}\\v2.0.50727", "value missing"),
    }
    assert all(c["type"] == "dword" and c["data"] == 1 for c in changes)
    assert finding["actions"] == changes
    assert "WOW6432Node" in finding["fix"] and "REG_SZ '1' -> dword 1 (wrong type)" in finding["fix"]


def test_dotnet_32bit_view_can_be_left_out():
    p = probe(dotnet({"v4.0.30319": GOOD}, {"v4.0.30319": {}}))
    assert reg.evaluate_dotnet_strong_crypto(p, {"include_32bit_view": False})["status"] == "pass"
    assert reg.evaluate_dotnet_strong_crypto(p, {"include_32bit_view": True})["status"] == "fail"


def test_dotnet_missing_view_is_skipped_and_said():
    p = probe(dotnet({"v4.0.30319": GOOD}, None))
    finding = reg.evaluate_dotnet_strong_crypto(p)
    assert finding["status"] == "pass"
    assert "no .NETFramework key in the 32-bit view" in finding["detail"]


def test_dotnet_no_version_key_is_not_applicable():
    p = probe(dotnet(None, None))
    assert reg.evaluate_dotnet_strong_crypto(p)["status"] == "not_applicable"
    p = probe(dotnet({}, {}))
    assert reg.evaluate_dotnet_strong_crypto(p)["status"] == "not_applicable"


def test_dotnet_apply_false_reports_not_allowed():
    p = probe(dotnet({"v4.0.30319": {}}, None))
    finding, changes = reg.assess_dotnet_strong_crypto(p, {"apply": False})
    assert finding["status"] == "fail"
    assert [c["allowed"] for c in changes] == [False]
    assert finding["fix"].startswith("would set") and "apply is false" in finding["fix"]


def test_dotnet_does_not_mutate_probe():
    p = probe(dotnet({"v4.0.30319": {"SchUseStrongCrypto": dword(-1)}}, {"v4.0.30319": {}}))
    before = copy.deepcopy(p)
    reg.evaluate_dotnet_strong_crypto(p)
    assert p == before


# --------------------------------------------------------------------------- BcdrAgentPersistentKeys


def test_bcdr_ok_passes_with_report_only_steps():
    finding = reg.evaluate_bcdr_agent_keys(probe(BCDR_OK))
    assert finding["status"] == "pass" and finding["fix"] == ""
    assert "doc steps 2-3" in finding["detail"] and "bigger" in finding["detail"]


def test_bcdr_key_missing():
    finding, changes = reg.assess_bcdr_agent_keys(probe())
    assert finding["status"] == "fail"
    assert [(c["name"], c["type"], c["data"], c["reason"]) for c in changes] == [
        ("SnapshotMethod", "string", "firstHostThenGuest", "key missing"),
        ("CalculateSnapshotTimeFromHost", "string", "True", "key missing"),
    ]
    assert "report only (doc steps 2-3)" in finding["fix"]


def test_bcdr_wrong_data_and_wrong_type():
    p = probe(
        {
            reg.BCDR_PERSISTENT_KEYS: key(
                {"SnapshotMethod": sz("firstGuestThenHost"), "CalculateSnapshotTimeFromHost": dword(1)}
            )
        }
    )
    _finding, changes = reg.assess_bcdr_agent_keys(p)
    assert [(c["name"], c["reason"]) for c in changes] == [
        ("SnapshotMethod", "wrong data"),
        ("CalculateSnapshotTimeFromHost", "wrong type"),
    ]


def test_bcdr_one_value_missing():
    p = probe({reg.BCDR_PERSISTENT_KEYS: key({"SnapshotMethod": sz("firstHostThenGuest")})})
    _finding, changes = reg.assess_bcdr_agent_keys(p)
    assert [(c["name"], c["reason"]) for c in changes] == [("CalculateSnapshotTimeFromHost", "value missing")]


# --------------------------------------------------------------------------- SQL Server / USEVSSCOPYBACKUP


def svc(name):
    return {"name": name, "display_name": name, "state": "running", "start_mode": "auto", "dependents": []}


@pytest.mark.parametrize(
    ("keys", "services", "signal"),
    [
        ({SQL64: key({"InstalledInstances": {"type": "multistring", "data": ["MSSQLSERVER"]}})}, [], "MSSQLSERVER"),
        ({SQL32: key({"InstalledInstances": {"type": "multistring", "data": ["SQLEXPRESS"]}})}, [], "WOW6432Node"),
        ({}, [svc("MSSQL$SALES")], "MSSQL$SALES"),
        ({}, [svc("mssqlserver")], "mssqlserver"),
    ],
)
def test_sql_detected(keys, services, signal):
    finding, changes = reg.assess_bcdr_vss_copy_backup(probe(keys, services))
    assert finding["status"] == "fail"
    assert signal in finding["detail"]
    assert [(c["path"], c["name"], c["type"], c["data"]) for c in changes] == [
        (reg.BCDRAGENT, "USEVSSCOPYBACKUP", "string", "TRUE")
    ]


@pytest.mark.parametrize(
    ("keys", "services"),
    [
        ({}, []),
        ({SQL64: key({"SharedCode": sz("C:\\x")})}, []),  # the key alone (client tools) is not SQL Server
        ({SQL64: key({"InstalledInstances": {"type": "multistring", "data": []}})}, []),
        ({}, [svc("SQLWriter"), svc("SQLBrowser"), svc("MSSQLFDLauncher")]),  # not an engine service
    ],
)
def test_no_sql_is_not_applicable(keys, services):
    finding = reg.evaluate_bcdr_vss_copy_backup(probe(keys, services))
    assert finding["status"] == "not_applicable", finding
    # unless the user wants the value everywhere
    forced = reg.evaluate_bcdr_vss_copy_backup(probe(keys, services), {"only_with_sql_server": False})
    assert forced["status"] == "fail" and "set anyway" in forced["detail"]


def test_sql_value_right_passes_wrong_type_fails():
    inst = {SQL64: key({"InstalledInstances": {"type": "multistring", "data": ["MSSQLSERVER"]}})}
    ok = reg.evaluate_bcdr_vss_copy_backup(probe({**inst, reg.BCDRAGENT: key({"USEVSSCOPYBACKUP": sz("TRUE")})}))
    assert ok["status"] == "pass"
    finding, changes = reg.assess_bcdr_vss_copy_backup(
        probe({**inst, reg.BCDRAGENT: key({"USEVSSCOPYBACKUP": dword(1)})})
    )
    assert finding["status"] == "fail" and changes[0]["reason"] == "wrong type"


def test_sql_needs_services_section():
    p = probe()
    del p["services"]
    assert reg.evaluate_bcdr_vss_copy_backup(p)["status"] == "error"
    p = probe(section_errors={"services": "WMI broken"})
    assert reg.evaluate_bcdr_vss_copy_backup(p)["status"] == "error"
