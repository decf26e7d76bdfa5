"""UserErrorFsFreezeFailed on real xfs and btrfs images on loop devices (read-only checks, report only).

- xfs: the kernel's forced shutdown (``xfs_io -x -c shutdown``, what a metadata I/O error does) makes
  directory reads and ``xfs_info`` fail with EIO: reported, never repaired.
- btrfs: a data block overwritten in the image behind btrfs' back; reading the file makes the
  kernel count a checksum error in ``btrfs device stats``: reported.
- A mount listed in ``mountstoskip`` of the extension's vmbackup.conf is not a finding.
Both the scan's gather (linux_backup_facts) and the fix module (ext_filesystems) run in one play;
their findings must agree. Needs root, xfsprogs, btrfs-progs.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml
from conftest import run_playbook, task_results

PATTERN = b"VMBACKUP-BTRFS-TEST!" * 8192  # 160 KiB: data extents, not inline

PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - name: facts
      vmbackup.azure.linux_backup_facts:
        ext_mounts: "{{ test_mounts }}"
        vmbackup_conf_path: "{{ test_conf }}"
      register: facts
    - name: fix module
      vmbackup.azure.ext_filesystems:
        mounts: "{{ test_mounts }}"
        repair: true
        vmbackup_conf: "{{ test_conf }}"
      register: fix
    - name: scan evaluator on the gathered facts
      vmbackup.azure.backup_scan:
        codes: [UserErrorFsFreezeFailed]
        options:
          UserErrorFsFreezeFailed: {mounts: "{{ test_mounts }}"}
      register: scan
"""


def run(*argv):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, env=dict(os.environ, LANG="C", LC_ALL="C"))
    assert proc.returncode == 0, f"{argv}: {proc.stderr}"
    return proc.stdout.strip()


@pytest.fixture
def broken(tmp_path):
    """A shut-down xfs and a btrfs with a checksum error, each on a loop device; always cleaned up."""
    made = []
    try:
        out = {}
        for fstype, size in (("xfs", 300), ("btrfs", 120)):
            image = tmp_path / f"{fstype}.img"
            with open(image, "wb") as handle:
                handle.truncate(size * 1024 * 1024)
            run(f"mkfs.{fstype}", "-q", "-f", str(image))
            mnt = tmp_path / fstype
            mnt.mkdir()
            loop = run("losetup", "-f", "--show", str(image))
            made.append((loop, str(mnt)))
            run("mount", loop, str(mnt))
            out[fstype] = {"image": str(image), "mountpoint": str(mnt), "loop": loop}
        # btrfs: write a file, damage one of its data blocks in the image, read it back
        btr = out["btrfs"]
        with open(os.path.join(btr["mountpoint"], "data.bin"), "wb") as handle:
            handle.write(PATTERN)
        run("umount", btr["mountpoint"])
        with open(btr["image"], "r+b") as handle:
            data = handle.read()
            offset = data.find(PATTERN[:4096])
            assert offset > 0
            handle.seek(offset + 8192)
            handle.write(b"X" * 4096)
        run("mount", btr["loop"], btr["mountpoint"])
        with pytest.raises(OSError), open(os.path.join(btr["mountpoint"], "data.bin"), "rb") as handle:
            handle.read()
        # xfs: the kernel's forced shutdown
        run("xfs_io", "-x", "-c", "shutdown", out["xfs"]["mountpoint"])
        yield out
    finally:
        for loop, mnt in reversed(made):
            subprocess.run(["umount", mnt], capture_output=True, check=False)
            subprocess.run(["losetup", "-d", loop], capture_output=True, check=False)


def test_xfs_shutdown_and_btrfs_errors_reported_and_mountstoskip_honoured(tmp_path, broken):
    inventory = tmp_path / "inventory.yml"
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"testhost": host}}}))
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY)
    mounts = [broken["xfs"]["mountpoint"], broken["btrfs"]["mountpoint"]]
    conf = tmp_path / "vmbackup.conf"

    proc = run_playbook(
        inventory, playbook, extra_vars={"test_mounts": mounts, "test_conf": str(conf)}, json_output=True
    )
    assert hasattr(proc, "json"), proc.stdout[-2000:] + proc.stderr[-2000:]
    facts = task_results(proc.json, "linux_backup_facts")["testhost"]["ansible_facts"]["vmbackup_linux"]
    health = {fs["fstype"]: fs for fs in facts["other_filesystems"]}
    assert health["xfs"]["health"] == "shutdown", health
    assert health["btrfs"]["health"] == "errors" and "corruption_errs=" in health["btrfs"]["detail"]
    fix = task_results(proc.json, "ext_filesystems")["testhost"]
    scan = task_results(proc.json, "backup_scan")["testhost"]["findings"][0]
    assert fix["changed"] is False, "xfs/btrfs are never repaired"
    assert fix["finding"]["status"] == scan["status"] == "fail"
    assert fix["finding"]["actions"] == scan["actions"]
    offline = [a for a in fix["finding"]["actions"] if a["action"] == "repair_offline"]
    assert {a["mountpoint"] for a in offline} == set(mounts) and not any(a["allowed"] for a in offline)

    # the extension's mountstoskip: neither mount is frozen, so neither is a finding
    conf.write_text("[SnapshotThread]\nmountstoskip = " + ",".join(mounts) + "\n")
    proc = run_playbook(
        inventory, playbook, extra_vars={"test_mounts": mounts, "test_conf": str(conf)}, json_output=True
    )
    fix = task_results(proc.json, "ext_filesystems")["testhost"]
    assert fix["finding"]["status"] == "pass", fix["finding"]
    assert "mountstoskip" in fix["finding"]["detail"]
    assert not fix["changed"]
