"""The extension_failed_vss_writer_in_bad_state role through ansible-playbook on simulated Windows hosts.

broken -> fixed, second run changes nothing, --check leaves the state file byte-identical,
--diff shows the change, unmapped writers are reported and not restarted, a writer that
does not recover fails the task naming it, VSS down is an error, no opt-in changes nothing.
"""

from __future__ import annotations

import pytest
from conftest import log_lines, run_playbook, sha256, task_results, writer_states

PLAYBOOK = """\
- name: Fix VSS writers
  hosts: windows
  gather_facts: false
  roles:
    - role: vmbackup.azure.extension_failed_vss_writer_in_bad_state
"""
RESTART = {"extension_failed_vss_writer_in_bad_state_restart": True}


@pytest.fixture
def playbook(tmp_path):
    path = tmp_path / "fix_vss.yml"
    path.write_text(PLAYBOOK)
    return path


def run(inventory, playbook, *args, **kwargs):
    proc = run_playbook(inventory, playbook, *args, json_output=True, **kwargs)
    assert hasattr(proc, "json"), proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc, task_results(proc.json, "vss_writers")


def test_broken_to_fixed_then_idempotent(sim_fleet, playbook):
    inventory, states = sim_fleet({"win-tw": "vss_system_writer_timeout_zh-TW.yml"})
    assert writer_states(states["win-tw"])["System Writer"] == 8

    proc, results = run(inventory, playbook, extra_vars=RESTART)
    assert proc.returncode == 0, proc.stdout[-3000:]
    res = results["win-tw"]
    assert res["changed"] is True
    assert res["actions"] == ["CryptSvc"]
    assert res["finding"]["status"] == "fail"
    assert all(w["state"] == 1 for w in res["after"])
    assert all(state == 1 for state in writer_states(states["win-tw"]).values())
    stats = proc.json["stats"]["win-tw"]
    assert stats["changed"] == 1 and stats["failures"] == 0

    proc, results = run(inventory, playbook, extra_vars=RESTART)
    assert proc.returncode == 0
    assert proc.json["stats"]["win-tw"]["changed"] == 0
    assert results["win-tw"]["finding"]["status"] == "pass"
    assert results["win-tw"]["actions"] == []


def test_check_mode_leaves_state_byte_identical(sim_fleet, playbook):
    inventory, states = sim_fleet({"win-tw": "vss_system_writer_timeout_zh-TW.yml"})
    before = sha256(states["win-tw"])
    proc, results = run(inventory, playbook, extra_vars=RESTART, check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert sha256(states["win-tw"]) == before
    res = results["win-tw"]
    assert res["changed"] is True  # would restart
    assert res["actions"] == ["CryptSvc"]
    assert res["after_predicted"] is True
    # every remote execution ran in check mode: the probe and the would-be restart, nothing else
    log = log_lines(states["win-tw"])
    assert [entry["module"] for entry in log] == ["ansible.windows.win_powershell", "ansible.windows.win_service"]
    assert all(entry["check_mode"] for entry in log)


def test_diff_shows_the_change(sim_fleet, playbook):
    inventory, _states = sim_fleet({"win-tw": "vss_system_writer_timeout_zh-TW.yml"})
    proc = run_playbook(inventory, playbook, "--diff", extra_vars=RESTART, check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "-System Writer {e8132975-6f93-4464-a53e-1050253ae220}: [8]" in proc.stdout
    assert "+System Writer {e8132975-6f93-4464-a53e-1050253ae220}: [1] stable" in proc.stdout


def test_unmapped_writer_reported_not_restarted(sim_fleet, playbook):
    inventory, states = sim_fleet({"win-de": "vss_multi_failed_de-DE.yml"})
    extra = dict(RESTART, extension_failed_vss_writer_in_bad_state_force_dependent_services=True)
    proc, results = run(inventory, playbook, extra_vars=extra)
    assert proc.returncode == 0, proc.stdout[-3000:]
    res = results["win-de"]
    assert [w["name"] for w in res["detail"]["unmapped_writers"]] == ["Performance Counters Writer"]
    assert sorted(res["actions"]) == ["SQLWriter", "VSS", "Winmgmt"]
    after = writer_states(states["win-de"])
    assert after["Performance Counters Writer"] == 8  # never guessed, never touched
    assert {name for name, state in after.items() if state != 1} == {"Performance Counters Writer"}
    assert "never guessed" in res["finding"]["fix"]


def test_running_dependents_need_force(sim_fleet, playbook):
    inventory, states = sim_fleet({"win-de": "vss_multi_failed_de-DE.yml"})
    proc, results = run(inventory, playbook, extra_vars=RESTART)
    assert proc.returncode == 0, proc.stdout[-3000:]
    res = results["win-de"]
    assert "Winmgmt" not in res["actions"]
    (blocked,) = [n for n in res["not_allowed"] if n["service"] == "Winmgmt"]
    assert "iphlpsvc" in blocked["reason"] and "force_dependent_services" in blocked["reason"]
    assert writer_states(states["win-de"])["WMI Writer"] == 7


def test_without_opt_in_nothing_changes(sim_fleet, playbook):
    inventory, states = sim_fleet({"win-tw": "vss_system_writer_timeout_zh-TW.yml"})
    before = sha256(states["win-tw"])
    proc, results = run(inventory, playbook)
    assert proc.returncode == 0, proc.stdout[-3000:]
    res = results["win-tw"]
    assert res["changed"] is False
    assert res["not_allowed"] == [
        {
            "service": "CryptSvc",
            "writers": ["System Writer"],
            "disruptive": False,
            "reason": "restart not opted in (restart: false)",
        }
    ]
    assert sha256(states["win-tw"]) == before
    assert [entry["module"] for entry in log_lines(states["win-tw"])] == ["ansible.windows.win_powershell"]


def test_writer_that_does_not_recover_fails_naming_it(sim_fleet, playbook):
    inventory, states = sim_fleet({"win-fr": "vss_stuck_fr-FR.yml"})
    extra = dict(RESTART, extension_failed_vss_writer_in_bad_state_settle_timeout=6)
    proc, results = run(inventory, playbook, extra_vars=extra)
    assert proc.returncode != 0
    res = results["win-fr"]
    assert res["failed"] is True
    assert "System Writer" in res["msg"] and "still not stable 6 s after" in res["msg"]
    assert res["actions"] == ["CryptSvc"]
    # probe, restart, then probes until settle_timeout ran out (at once, after 5 s, after 6 s)
    modules = [entry["module"] for entry in log_lines(states["win-fr"])]
    assert modules[:2] == ["ansible.windows.win_powershell", "ansible.windows.win_service"]
    assert modules[2:] == ["ansible.windows.win_powershell"] * 3


def test_vss_down_is_an_error(sim_fleet, playbook):
    inventory, _states = sim_fleet({"win-down": "vss_service_down.yml"})
    proc, results = run(inventory, playbook, extra_vars=RESTART)
    assert proc.returncode != 0
    res = results["win-down"]
    assert res["failed"] is True and res["finding"]["status"] == "error"
    assert "rc=" in res["msg"] or "no writers" in res["msg"]


def test_bad_role_input_rejected_before_any_host_execution(sim_fleet, playbook):
    inventory, states = sim_fleet({"win-tw": "vss_system_writer_timeout_zh-TW.yml"})
    extra = dict(RESTART, extension_failed_vss_writer_in_bad_state_extra_writer_services=[{"name": "x"}])
    proc = run_playbook(inventory, playbook, extra_vars=extra)
    assert proc.returncode != 0
    assert "service" in proc.stdout
    assert log_lines(states["win-tw"]) == []  # no remote execution at all
