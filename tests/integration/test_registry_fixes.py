"""The registry fix roles through ansible-playbook on simulated Windows hosts.

extension_snapshot_failed_no_secure_network (SchUseStrongCrypto, both views),
extension_failed_timeout_vm_network_unresponsive (BcdrAgentPersistentKeys) and
sql_server_snapshot_delay (USEVSSCOPYBACKUP where SQL Server is installed):
broken -> fixed, second run changes nothing, --check leaves the state files byte-identical,
--diff shows the change, bad input fails before any host is contacted, scan.yml and
remediate.yml --check agree, and the scan stays at one remote execution per host.
"""

from __future__ import annotations

import json
import os

import pytest
import yaml
from conftest import log_lines, run_playbook, sha256, task_results

NET64 = "HKLM:\\SOFTWARE\\Microsoft\\.NETFramework"
NET32 = "HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework"
BCDR = "HKLM:\\SOFTWARE\\Microsoft\\BcdrAgentPersistentKeys"
BCDRAGENT = "HKLM:\\SOFTWARE\\Microsoft\\BCDRAGENT"

FLEET = {
    "net-wrong": "registry_dotnet_wrong.yml",
    "net-view": "registry_dotnet_one_view.yml",
    "net-missing": "registry_dotnet_missing.yml",
    "bcdr-missing": "registry_bcdr_missing.yml",
    "bcdr-wrong": "registry_bcdr_wrong.yml",
    "sql-missing": "registry_sql_missing.yml",
    "sql-wrong": "registry_sql_wrong.yml",
    "no-sql": "registry_no_sql.yml",
    "ok": "healthy.yml",
}
CODES = {
    "ExtensionSnapshotFailedNoSecureNetwork": "dotnet_strong_crypto",
    "ExtensionFailedTimeoutVMNetworkUnresponsive": "bcdr_agent_keys",
    "SqlServerSnapshotDelay": "bcdr_vss_copy_backup",
}
# host -> the codes its state breaks
BROKEN = {
    "net-wrong": {"ExtensionSnapshotFailedNoSecureNetwork"},
    "net-view": {"ExtensionSnapshotFailedNoSecureNetwork"},
    "net-missing": {"ExtensionSnapshotFailedNoSecureNetwork"},
    "bcdr-missing": {"ExtensionFailedTimeoutVMNetworkUnresponsive"},
    "bcdr-wrong": {"ExtensionFailedTimeoutVMNetworkUnresponsive"},
    "sql-missing": {"SqlServerSnapshotDelay"},
    "sql-wrong": {"SqlServerSnapshotDelay"},
    "no-sql": set(),
    "ok": set(),
}
PLAYBOOK = """\
- name: Registry fixes
  hosts: windows
  gather_facts: false
  roles:
    - role: vmbackup.azure.extension_snapshot_failed_no_secure_network
    - role: vmbackup.azure.extension_failed_timeout_vm_network_unresponsive
    - role: vmbackup.azure.sql_server_snapshot_delay
"""


def expected_status(host, code):
    if code in BROKEN[host]:
        return "fail"
    return "not_applicable" if (host, code) == ("no-sql", "SqlServerSnapshotDelay") else "pass"


def registry(state_path):
    with open(state_path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return {k.lower(): {n.lower(): v for n, v in (values or {}).items()} for k, values in data["registry"].items()}


@pytest.fixture
def playbook(tmp_path):
    path = tmp_path / "registry_fixes.yml"
    path.write_text(PLAYBOOK)
    return path


def results_by_code(proc):
    return {code: task_results(proc.json, module) for code, module in CODES.items()}


def run(inventory, playbook, *args, **kwargs):
    proc = run_playbook(inventory, playbook, *args, json_output=True, **kwargs)
    assert hasattr(proc, "json"), proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc, results_by_code(proc)


def test_broken_to_fixed_then_idempotent(sim_fleet, playbook):
    inventory, states = sim_fleet(FLEET)
    proc, results = run(inventory, playbook)
    assert proc.returncode == 0, proc.stdout[-3000:]
    for host in FLEET:
        for code in CODES:
            res = results[code][host]
            assert res["changed"] is (code in BROKEN[host]), (host, code, res)
            assert res["finding"]["status"] == expected_status(host, code), (host, code)
        assert proc.json["stats"][host]["changed"] == len(BROKEN[host]), host

    # every version key of both views holds dword 1 now, the lower-case names included
    reg = registry(states["net-wrong"])
    for path in (f"{NET64}\\v1.1.4322", f"{NET64}\\v4.0.30319", f"{NET64}\\V2.0.50727", f"{NET32}\\v4.0.30319"):
        assert reg[path.lower()]["schusestrongcrypto"] == {"type": "dword", "data": 1}, path
    res = results["ExtensionSnapshotFailedNoSecureNetwork"]["net-wrong"]
    assert sorted(res["detail"]["changed_keys"]) == sorted(
        [f"{NET64}\\v1.1.4322", f"{NET64}\\v4.0.30319", f"{NET32}\\v4.0.30319"]
    )
    assert {c["reason"] for c in res["actions"]} == {"value missing", "wrong data", "wrong type"}
    assert all(
        k.startswith(NET32)
        for k in results["ExtensionSnapshotFailedNoSecureNetwork"]["net-view"]["detail"]["changed_keys"]
    )

    for host in ("bcdr-missing", "bcdr-wrong"):
        values = registry(states[host])[BCDR.lower()]
        assert values["snapshotmethod"] == {"type": "string", "data": "firstHostThenGuest"}
        assert values["calculatesnapshottimefromhost"] == {"type": "string", "data": "True"}
    for host in ("sql-missing", "sql-wrong"):
        assert registry(states[host])[BCDRAGENT.lower()]["usevsscopybackup"] == {"type": "string", "data": "TRUE"}
    assert BCDRAGENT.lower() not in registry(states["no-sql"])  # no SQL Server: never created

    proc, results = run(inventory, playbook)
    assert proc.returncode == 0, proc.stdout[-3000:]
    for host in FLEET:
        assert proc.json["stats"][host]["changed"] == 0, host
        for code in CODES:
            assert results[code][host]["finding"]["status"] in ("pass", "not_applicable"), (host, code)


def test_check_mode_leaves_states_byte_identical(sim_fleet, playbook):
    inventory, states = sim_fleet(FLEET)
    before = {name: sha256(path) for name, path in states.items()}
    proc, results = run(inventory, playbook, check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert {name: sha256(path) for name, path in states.items()} == before
    for host in FLEET:
        for code in CODES:
            assert results[code][host]["changed"] is (code in BROKEN[host]), (host, code)
    # net-wrong: 3 probes (one per role) + 3 would-be win_regedit, every one in check mode
    log = log_lines(states["net-wrong"])
    assert [e["module"] for e in log].count("ansible.windows.win_regedit") == 3
    assert [e["module"] for e in log].count("ansible.windows.win_powershell") == 3
    assert all(e["check_mode"] for e in log)


def test_diff_shows_the_change(sim_fleet, playbook):
    inventory, _states = sim_fleet({"net-wrong": FLEET["net-wrong"], "bcdr-wrong": FLEET["bcdr-wrong"]})
    proc = run_playbook(inventory, playbook, "--diff", check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    out = proc.stdout
    assert f"-{NET64}\\v4.0.30319\\SchUseStrongCrypto = dword 0" in out
    assert f"+{NET64}\\v4.0.30319\\SchUseStrongCrypto = dword 1" in out
    assert f"-{NET32}\\v4.0.30319\\SchUseStrongCrypto = REG_SZ '1'" in out
    assert f"-{BCDR}\\CalculateSnapshotTimeFromHost = dword 1" in out
    assert f"+{BCDR}\\CalculateSnapshotTimeFromHost = REG_SZ 'True'" in out


def test_apply_false_reports_and_changes_nothing(sim_fleet, playbook):
    inventory, states = sim_fleet({"net-wrong": FLEET["net-wrong"], "sql-wrong": FLEET["sql-wrong"]})
    before = {name: sha256(path) for name, path in states.items()}
    extra = {
        "extension_snapshot_failed_no_secure_network_apply": False,
        "extension_failed_timeout_vm_network_unresponsive_apply": False,
        "sql_server_snapshot_delay_apply": False,
    }
    proc, results = run(inventory, playbook, extra_vars=extra)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert {name: sha256(path) for name, path in states.items()} == before
    assert len(results["ExtensionSnapshotFailedNoSecureNetwork"]["net-wrong"]["not_allowed"]) == 3
    assert results["SqlServerSnapshotDelay"]["sql-wrong"]["not_allowed"][0]["reason"] == "wrong type"
    assert all(e["module"] == "ansible.windows.win_powershell" for e in log_lines(states["net-wrong"]))


@pytest.mark.parametrize(
    ("role", "variable", "value"),
    [
        ("extension_snapshot_failed_no_secure_network", "include_32bit_view", "perhaps"),
        ("extension_failed_timeout_vm_network_unresponsive", "apply", "maybe"),
        ("sql_server_snapshot_delay", "only_with_sql_server", [1, 2]),
    ],
)
def test_bad_role_input_rejected_before_any_host_execution(sim_fleet, tmp_path, role, variable, value):
    inventory, states = sim_fleet({"net-wrong": FLEET["net-wrong"], "sql-wrong": FLEET["sql-wrong"]})
    playbook = tmp_path / "one_role.yml"
    playbook.write_text(
        f"- name: One role\n  hosts: windows\n  gather_facts: false\n  roles:\n    - role: vmbackup.azure.{role}\n"
    )
    proc = run_playbook(inventory, playbook, extra_vars={f"{role}_{variable}": value})
    assert proc.returncode != 0
    assert f"{role}_{variable}" in proc.stdout
    for path in states.values():  # no host was contacted
        assert not os.path.exists(f"{path}.log.jsonl")


def test_scan_and_remediate_check_agree_with_one_execution_per_host(sim_fleet, tmp_path):
    inventory, states = sim_fleet(FLEET)
    report_path = tmp_path / "scan.json"
    codes = list(CODES)
    proc = run_playbook(
        inventory,
        "playbooks/scan.yml",
        extra_vars={"vmbackup_report_path": str(report_path), "vmbackup_error_codes": codes},
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    for name, path in states.items():
        assert len(log_lines(path)) == 1, name  # the whole scan: one remote execution per host
    with open(report_path, encoding="utf-8") as handle:
        report = json.load(handle)
    scan = {(h["host"], f["error_code"]): f for h in report["hosts"] for f in h["findings"]}

    before = {name: sha256(path) for name, path in states.items()}
    proc = run_playbook(
        inventory, "playbooks/remediate.yml", extra_vars={"vmbackup_error_codes": codes}, check=True, json_output=True
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert {name: sha256(path) for name, path in states.items()} == before
    # remediate.yml runs a fix role only where the scan found a step it may take (gather once): there
    # the role's --check result agrees with the scan and reports the change.
    ran = set()
    for code, module in CODES.items():
        for host, result in task_results(proc.json, module).items():
            finding = result["finding"]
            assert finding["status"] == scan[(host, code)]["status"] == "fail", (host, code)
            assert finding["fix"] == scan[(host, code)]["fix"], (host, code)
            assert result["changed"] is True, (host, code)
            ran.add((host, code))
    fixable = {key for key, f in scan.items() if f["status"] == "fail" and any(a.get("allowed") for a in f["actions"])}
    assert ran == fixable and ran
