"""A fleet scanned in 3 slices and merged gives the report of the fleet scanned at once.

The slices are what AWX job slicing runs: the same scan on every third host (--limit), each writing
its own report; playbooks/merge.yml merges them. JSON (apart from generated_at), JUnit XML and HTML
(apart from the generation time) and the summary are the same; a slice that never reported leaves
its hosts in the merged report without a result instead of dropping them.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest
import yaml
from conftest import STATES, run_playbook

FLEET = {
    "win-tw": "vss_system_writer_timeout_zh-TW.yml",
    "win-de": "vss_multi_failed_de-DE.yml",
    "win-fr": "vss_stuck_fr-FR.yml",
    "win-ok": "healthy.yml",
    "win-down": "vss_service_down.yml",
    "win-keys": "machinekeys_extra_principals.yml",
    "win-agent": "agent_outdated.yml",
}


def normalized(path, stamp):
    return path.read_text(encoding="utf-8").replace(stamp, "<generated>")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    work = tmp_path_factory.mktemp("slices")
    hosts = {}
    for name, template in FLEET.items():
        shutil.copyfile(os.path.join(STATES, template), work / f"{name}.yml")
        hosts[name] = {"vmbackup_winsim_state": str(work / f"{name}.yml")}
    inventory = work / "inventory.yml"
    windows = {"hosts": hosts, "vars": {"ansible_connection": "vmbackup.azure.winsim"}}
    inventory.write_text(yaml.safe_dump({"all": {"children": {"windows": windows}}}, sort_keys=False))
    return work, inventory


def scan(inventory, outdir, *args):
    extra = {"vmbackup_report_dir": str(outdir), "vmbackup_fail_on": "never"}
    proc = run_playbook(inventory, "playbooks/scan.yml", *args, extra_vars=extra)
    assert proc.returncode == 0, proc.stdout[-3000:]
    return outdir / "vmbackup-scan.json"


def test_three_slices_merged_equal_one_scan(fleet):
    work, inventory = fleet
    whole = scan(inventory, work / "whole")
    names = list(FLEET)
    slices = [scan(inventory, work / f"slice-{i}", "--limit", ",".join(names[i::3])) for i in range(3)]
    merged_dir = work / "merged"
    proc = run_playbook(
        inventory,
        "playbooks/merge.yml",
        extra_vars={"vmbackup_merge_reports": [str(p) for p in slices], "vmbackup_report_dir": str(merged_dir)},
    )
    one = json.loads(whole.read_text(encoding="utf-8"))
    merged = json.loads((merged_dir / "vmbackup-scan.json").read_text(encoding="utf-8"))
    # with the default vmbackup_fail_on=error the merge fails exactly when the whole scan would have
    assert (proc.returncode != 0) == (one["summary"]["hosts_with_errors"] > 0), proc.stdout[-3000:]
    assert one["summary"]["hosts_failing"] >= 3 and one["summary"]["hosts_with_errors"] >= 1  # a fleet worth merging
    for report in (one, merged):
        report.pop("generated_at")
    assert merged == one
    for name in ("vmbackup-scan.junit.xml", "vmbackup-scan.html"):
        stamp_one = json.loads(whole.read_text(encoding="utf-8"))["generated_at"]
        stamp_merged = json.loads((merged_dir / "vmbackup-scan.json").read_text(encoding="utf-8"))["generated_at"]
        assert normalized(merged_dir / name, stamp_merged) == normalized(whole.parent / name, stamp_one)


def test_a_slice_that_never_reported_leaves_its_hosts_in_the_merged_report(fleet):
    work, inventory = fleet
    names = list(FLEET)
    slices = [scan(inventory, work / f"part-{i}", "--limit", ",".join(names[i::3])) for i in range(2)]
    proc = run_playbook(
        inventory,
        "playbooks/merge.yml",
        extra_vars={"vmbackup_merge_reports": [str(p) for p in slices], "vmbackup_report_dir": str(work / "partial")},
    )
    assert proc.returncode != 0 and "not fully checked" in proc.stdout  # the missing slice's hosts are errors
    merged = json.loads((work / "partial" / "vmbackup-scan.json").read_text(encoding="utf-8"))
    assert [h["host"] for h in merged["hosts"]] == names
    missing = {h["host"] for h in merged["hosts"] if "no scan result" in h["error"]}
    assert missing == set(names[2::3])


def test_a_host_in_two_slices_is_refused(fleet):
    work, inventory = fleet
    first = scan(inventory, work / "dup-1", "--limit", "win-tw,win-de")
    second = scan(inventory, work / "dup-2", "--limit", "win-de,win-ok")
    proc = run_playbook(
        inventory,
        "playbooks/merge.yml",
        extra_vars={"vmbackup_merge_reports": [str(first), str(second)], "vmbackup_report_dir": str(work / "dup")},
    )
    assert proc.returncode != 0 and "host win-de is in two slice reports" in proc.stdout
    assert not (work / "dup").exists()
