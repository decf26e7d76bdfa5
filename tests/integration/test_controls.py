"""What runs: --tags/--skip-tags with an error code select the fix (remediate.yml) and the check (scan.yml).

The include of each role is tagged ``always`` and passes the code to the role's tasks (``apply``), so
``--tags <Code>`` reaches exactly that role's tasks and ``--skip-tags <Code>`` leaves every other role running.
"""

from __future__ import annotations

import json
import os

import pytest
from conftest import run_playbook

VSS = "ExtensionFailedVssWriterInBadState"
VSS_ROLE = "extension_failed_vss_writer_in_bad_state"


@pytest.fixture
def fleet(sim_fleet):
    # remediate.yml runs a role only where its check fails with a step it may take: the VSS restart is
    # opted in below, and win-dotnet's SchUseStrongCrypto values are a second fixable code.
    return sim_fleet(
        {
            "win-tw": "vss_system_writer_timeout_zh-TW.yml",
            "win-ok": "healthy.yml",
            "win-dotnet": "registry_dotnet_wrong.yml",
        }
    )


def role_tasks(play_json):
    """{(role, task name)} of every task that ran (not skipped) inside a role."""
    ran = set()
    for play in play_json["plays"]:
        for task in play["tasks"]:
            name = task["task"]["name"]
            role = name.split(" : ")[0] if " : " in name else None
            if not role:
                continue
            if any(not res.get("skipped") for res in task["hosts"].values()):
                ran.add((role, name))
    return ran


def codes_in(report_path):
    with open(report_path, encoding="utf-8") as handle:
        report = json.load(handle)
    return {(h["host"], f["error_code"]) for h in report["hosts"] for f in h["findings"]}


def _remediate_vss_tagged(inventory, flag, report):
    """remediate.yml in check mode with ``flag`` (--tags / --skip-tags) naming the VSS code; its JSON output."""
    proc = run_playbook(
        inventory,
        "playbooks/remediate.yml",
        flag,
        VSS,
        extra_vars={"vmbackup_report_path": str(report), f"{VSS_ROLE}_restart": True},
        json_output=True,
        check=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    return proc.json


def test_remediate_tags_run_only_that_role_and_skip_tags_skip_it(fleet, tmp_path):
    inventory, states = fleet
    ran = role_tasks(_remediate_vss_tagged(inventory, "--tags", tmp_path / "tags.json"))
    assert ran, "no role task ran with --tags"
    assert {role for role, dummy in ran} == {f"vmbackup.azure.{VSS_ROLE}"}, ran
    assert any(f"{VSS} | PATCH |" in name for dummy, name in ran)
    assert {code for dummy, code in codes_in(tmp_path / "tags.json")} == {VSS}

    ran = role_tasks(_remediate_vss_tagged(inventory, "--skip-tags", tmp_path / "skip.json"))
    assert f"vmbackup.azure.{VSS_ROLE}" not in {role for role, dummy in ran}
    assert ran, "--skip-tags of one code skipped the other roles too"
    codes = {code for dummy, code in codes_in(tmp_path / "skip.json")}
    assert VSS not in codes and codes


def test_scan_tags_select_the_checks(fleet, tmp_path):
    inventory, states = fleet
    only = run_playbook(
        inventory, "playbooks/scan.yml", "--tags", VSS, extra_vars={"vmbackup_report_path": str(tmp_path / "a.json")}
    )
    assert only.returncode == 0, only.stdout[-3000:]
    assert {code for dummy, code in codes_in(tmp_path / "a.json")} == {VSS}

    without = run_playbook(
        inventory,
        "playbooks/scan.yml",
        "--skip-tags",
        VSS,
        extra_vars={"vmbackup_report_path": str(tmp_path / "b.json")},
    )
    assert without.returncode == 0, without.stdout[-3000:]
    codes = {code for dummy, code in codes_in(tmp_path / "b.json")}
    assert VSS not in codes and codes


def test_a_bad_waiver_fails_naming_the_variable(sim_fleet, tmp_path):
    inventory, states = sim_fleet(
        {"win-ok": "healthy.yml"}, host_vars={"win-ok": {"vmbackup_waivers": [{"code": VSS, "reason": ""}]}}
    )
    proc = run_playbook(inventory, "playbooks/scan.yml", extra_vars={"vmbackup_report_path": str(tmp_path / "r.json")})
    assert proc.returncode != 0
    assert "vmbackup_waivers[0]: a waiver needs a reason" in proc.stdout
    assert not os.path.exists(f"{states['win-ok']}.log.jsonl"), "the host was contacted before the waiver was checked"
