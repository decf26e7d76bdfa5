"""The AWX project of docs/examples/awx-project.

- the wrapper playbooks pass ansible-lint --profile production (the old one-line wrapper failed name[play]);
- copied into a project directory of its own, each wrapper runs the collection's playbook against a
  simulated fleet with every survey question answered by its default, as AWX sends it (strings);
- remediate's survey with a restart opted in ("true", a string) restarts, as the scan said it would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from conftest import BIN, ROOT, run_playbook

PROJECT = os.path.join(ROOT, "docs", "examples", "awx-project")
VSS = "ExtensionFailedVssWriterInBadState"


def test_the_wrappers_pass_ansible_lint_production():
    wrappers = sorted(os.path.join(PROJECT, f) for f in os.listdir(PROJECT) if f.endswith(".yml"))
    assert [os.path.basename(w) for w in wrappers] == ["remediate.yml", "scan.yml", "triage.yml"]
    proc = subprocess.run(
        [os.path.join(BIN, "ansible-lint"), "--profile", "production", *wrappers],
        cwd=ROOT,
        env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg")),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def answers(playbook, **override):
    with open(os.path.join(PROJECT, "surveys", f"{playbook}.json"), encoding="utf-8") as handle:
        spec = json.load(handle)["spec"]
    values = {q["variable"]: q["default"] for q in spec if q["default"] != ""}
    return {**values, **override}


@pytest.mark.parametrize("playbook", ["scan", "remediate"])
def test_each_wrapper_runs_with_the_survey_defaults(sim_fleet, tmp_path, playbook):
    inventory, states = sim_fleet({"win-ok": "healthy.yml", "win-bad": "vss_stuck_fr-FR.yml"})
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    extra = answers(playbook, vmbackup_report_dir=str(tmp_path / "out"))
    proc = run_playbook(inventory, project / f"{playbook}.yml", extra_vars=extra, check=playbook == "remediate")
    assert proc.returncode == 0, proc.stdout[-3000:]
    with open(tmp_path / "out" / f"vmbackup-{playbook}.json", encoding="utf-8") as handle:
        assert sorted(h["host"] for h in json.load(handle)["hosts"]) == ["win-bad", "win-ok"]


def test_a_string_opt_in_from_the_survey_is_honoured(sim_fleet, tmp_path):
    inventory, states = sim_fleet({"win-bad": "vss_multi_failed_de-DE.yml"})
    extra = answers(
        "remediate",
        vmbackup_error_codes=[VSS],
        extension_failed_vss_writer_in_bad_state_restart="true",
        vmbackup_fail_on="never",
        vmbackup_report_dir=str(tmp_path / "out"),
    )
    proc = run_playbook(inventory, os.path.join(PROJECT, "remediate.yml"), extra_vars=extra)
    assert proc.returncode == 0, proc.stdout[-3000:]
    with open(tmp_path / "out" / "vmbackup-remediate.json", encoding="utf-8") as handle:
        finding = json.load(handle)["hosts"][0]["findings"][0]
    assert finding["error_code"] == VSS and finding.get("changed") is True, finding
