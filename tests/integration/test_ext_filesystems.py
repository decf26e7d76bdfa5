"""vmbackup.azure.ext_filesystems and linux_backup_facts on real ext4 images on loop devices.

Each test makes its own unclean ext4 image (tools/linux_testhost.py), mounted under its tmp dir,
and only ever names that mount point. Needs root: without it the fixtures fail (they do not skip),
since CI runs as root.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time

import pytest
import yaml
from conftest import ROOT, run_playbook, task_results

sys.path.insert(0, os.path.join(ROOT, "tools"))
import linux_testhost  # noqa: E402

PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - name: ext_filesystems
      vmbackup.azure.ext_filesystems:
        mounts: "{{ test_mounts }}"
        repair: "{{ test_repair | default(false) }}"
"""

FACTS_PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - name: linux_backup_facts
      vmbackup.azure.linux_backup_facts:
        ext_mounts: "{{ test_mounts }}"
"""


def sha256(path):
    subprocess.run(["sync"], check=True)
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@pytest.fixture
def unclean(tmp_path):
    """One real ext4 image, 'not clean', on a loop device, mounted under tmp_path; always cleaned up."""
    fs = linux_testhost.make_unclean_ext4(str(tmp_path), "disk", size_mb=32, state=0)
    try:
        yield fs
    finally:
        problems = linux_testhost.cleanup(fs)
        assert not problems, problems


@pytest.fixture
def local_inventory(tmp_path):
    path = tmp_path / "inventory.yml"
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    path.write_text(yaml.safe_dump({"all": {"hosts": {"testhost": host}}}))
    return path


@pytest.fixture
def ssh_inventory(tmp_path):
    """An sshd of its own on 127.0.0.1: the module runs over real SSH as root."""
    info = linux_testhost.start_sshd(str(tmp_path))
    try:
        path = tmp_path / "ssh-inventory.yml"
        path.write_text(yaml.safe_dump({"all": {"hosts": {"testhost": info["inventory_vars"]}}}))
        yield path
    finally:
        assert linux_testhost.stop_sshd(info)


def play(tmp_path, inventory, mounts, *args, repair=False, playbook=PLAYBOOK):
    path = tmp_path / "play.yml"
    path.write_text(playbook)
    proc = run_playbook(
        inventory, path, *args, extra_vars={"test_mounts": mounts, "test_repair": repair}, json_output=True
    )
    assert hasattr(proc, "json"), proc.stdout + proc.stderr
    results = task_results(proc.json, "ext_filesystems" if playbook is PLAYBOOK else "linux_backup_facts")
    return proc, results["testhost"]


def mounted(fs):
    entry = linux_testhost.mount_entry(fs["mountpoint"])
    return entry and entry["device"] == fs["loopdev"] and entry


def test_repair_over_ssh_then_nothing_to_do(tmp_path, unclean, ssh_inventory):
    assert linux_testhost.fs_state(unclean["loopdev"]) == "not clean"
    proc, res = play(tmp_path, ssh_inventory, [unclean["mountpoint"]], repair=True)
    assert proc.returncode == 0, res
    assert res["changed"] is True
    (entry,) = res["filesystems"]
    assert entry["action"] == "repaired"
    assert entry["state_before"] == "not clean" and entry["state_after"] == "clean"
    assert entry["fsck_rc"] in (0, 1)
    assert res["finding"]["status"] == "fail" and res["finding"]["actions"][0]["allowed"] is True
    assert res["finding_after"]["status"] == "pass"
    assert linux_testhost.fs_state(unclean["loopdev"]) == "clean"
    after = mounted(unclean)
    assert after, "the filesystem is mounted again from the same device"
    assert (after["fstype"], after["mount_options"], after["super_options"]) == (
        unclean["fstype"],
        unclean["mount_options"],
        unclean["super_options"],
    )

    proc, res = play(tmp_path, ssh_inventory, [unclean["mountpoint"]], repair=True)
    assert proc.returncode == 0
    assert res["changed"] is False
    assert res["filesystems"][0]["action"] == "none"
    assert res["finding"]["status"] == "pass"


def test_check_mode_reports_and_changes_nothing(tmp_path, unclean, local_inventory):
    before = sha256(unclean["image"])
    proc, res = play(tmp_path, local_inventory, [unclean["mountpoint"]], "--check", "--diff", repair=True)
    assert proc.returncode == 0, res
    assert res["changed"] is True
    assert res["filesystems"][0]["action"] == "would_repair"
    assert res["diff"] == {
        "before": {unclean["mountpoint"]: "not clean"},
        "after": {unclean["mountpoint"]: "clean"},
    }
    assert linux_testhost.fs_state(unclean["loopdev"]) == "not clean"
    assert sha256(unclean["image"]) == before
    assert mounted(unclean)


def test_without_opt_in_nothing_is_touched(tmp_path, unclean, local_inventory):
    before = sha256(unclean["image"])
    proc, res = play(tmp_path, local_inventory, [unclean["mountpoint"]], "--diff")
    assert proc.returncode == 0, res
    assert res["changed"] is False
    assert res["filesystems"][0]["action"] == "refused"
    finding = res["finding"]
    assert finding["status"] == "fail"
    assert finding["actions"][0]["allowed"] is False
    assert "not opted in" in finding["actions"][0]["reason"]
    assert "not opted in" in finding["fix"]
    assert linux_testhost.fs_state(unclean["loopdev"]) == "not clean"
    assert sha256(unclean["image"]) == before


def test_busy_mount_is_reported_and_left_mounted(tmp_path, unclean, local_inventory):
    sleeper = subprocess.Popen(["sleep", "120"], cwd=unclean["mountpoint"])
    try:
        for _attempt in range(50):  # until the child runs sleep with its cwd inside the mount
            if os.path.exists(f"/proc/{sleeper.pid}/comm"):
                with open(f"/proc/{sleeper.pid}/comm", encoding="utf-8") as handle:
                    if handle.read().strip() == "sleep":
                        break
            time.sleep(0.05)
        proc, res = play(tmp_path, local_inventory, [unclean["mountpoint"]], repair=True)
        assert proc.returncode == 0, res
        assert res["changed"] is False
        (entry,) = res["filesystems"]
        assert entry["action"] == "refused"
        holders = {h["pid"]: h for h in entry["holders"]}
        assert sleeper.pid in holders, entry["holders"]
        assert holders[sleeper.pid]["comm"] == "sleep"
        assert "cwd" in holders[sleeper.pid]["uses"]
        assert f"pid {sleeper.pid} (sleep)" in entry["reason"]
        assert mounted(unclean)
        assert sleeper.poll() is None
        assert linux_testhost.fs_state(unclean["loopdev"]) == "not clean"
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.parametrize("bad", ["relative/mount", "data"])
def test_bad_input_fails_naming_it(tmp_path, local_inventory, bad):
    proc, res = play(tmp_path, local_inventory, [bad], repair=True)
    assert proc.returncode != 0
    assert res.get("failed") is True
    assert repr(bad) in res["msg"] and "mounts" in res["msg"]


def test_a_directory_where_nothing_is_mounted_fails(tmp_path, local_inventory):
    proc, res = play(tmp_path, local_inventory, [str(tmp_path)], repair=True)
    assert proc.returncode != 0, res
    assert res["changed"] is False
    assert str(tmp_path) in res["msg"] and "not a mount point" in res["msg"]


def test_linux_backup_facts(tmp_path, unclean, local_inventory):
    proc, res = play(tmp_path, local_inventory, [unclean["mountpoint"]], "--check", playbook=FACTS_PLAYBOOK)
    assert proc.returncode == 0, res
    assert res["changed"] is False
    (fs,) = res["ansible_facts"]["vmbackup_linux"]["ext_filesystems"]
    assert fs["mountpoint"] == unclean["mountpoint"]
    assert fs["device"] == unclean["loopdev"]
    assert fs["fstype"] == "ext4"
    assert fs["state"] == "not clean" and fs["state_raw"] == "not clean"
    assert fs["is_root"] is False
    assert fs["options"].startswith("rw")
