"""Faults during an ext_filesystems repair, on real ext4 images on loop devices.

Every case writes a file on the filesystem before the fault and reads it back after the repair.
Faults are injected for real: the kernel's own ``/sys/fs/ext4/<dev>/trigger_fs_error``, and
an ``e2fsck`` first on PATH that kills or signals the module process (its parent) or exits with an
e2fsck exit code before running nothing. That stand-in is the only thing not real: the
umount, the mount and (unless the fault replaces it) e2fsck itself are the machine's own.
Needs root (CI runs as root).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
import test_ext_filesystems as base
from ansible_collections.vmbackup.azure.plugins.module_utils._linux_fs import evaluate_extfs
from conftest import run_playbook, task_results

linux_testhost = base.linux_testhost
local_inventory = base.local_inventory  # the fixture, shared

# The playbooks of test_ext_filesystems, with the pending-remount record under the test's tmp dir.
PLAYBOOK = (
    base.PLAYBOOK
    + '        pending_file: "{{ test_pending }}"\n'
    + "        fstab_path: \"{{ test_fstab | default('/etc/fstab') }}\"\n"
)
FACTS_PLAYBOOK = base.FACTS_PLAYBOOK + '        ext_pending_file: "{{ test_pending }}"\n'

# The fault, chosen by VMBACKUP_TEST_FAULT; anything else runs the real e2fsck.
FAKE_E2FSCK = """#!/bin/sh
case "$VMBACKUP_TEST_FAULT" in
  kill) kill -KILL "$PPID"; sleep 1; exit 0 ;;
  hup-term) kill -HUP "$PPID"; kill -TERM "$PPID"; sleep 0.3 ;;
  rc8|rc16|rc32) echo "e2fsck stand-in: exit ${VMBACKUP_TEST_FAULT#rc}" >&2; exit "${VMBACKUP_TEST_FAULT#rc}" ;;
esac
exec "$REAL_E2FSCK" "$@"
"""

PAYLOAD = "written before the fault\n"


@pytest.fixture
def fault(tmp_path, monkeypatch):
    """Put the e2fsck stand-in first on PATH; returns a setter for the fault."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "e2fsck"
    script.write_text(FAKE_E2FSCK)
    script.chmod(0o755)
    real = shutil.which("e2fsck", path="/usr/sbin:/sbin:/usr/bin:/bin")
    assert real, "e2fsck (e2fsprogs) is needed"
    monkeypatch.setenv("REAL_E2FSCK", real)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")

    def set_fault(name):
        monkeypatch.setenv("VMBACKUP_TEST_FAULT", name)
        # "badexec": an e2fsck that exists but cannot be executed (its interpreter is missing):
        # run_command fails the module from inside the unmounted part of the repair
        script.write_text("#!/nonexistent/interpreter\n" if name == "badexec" else FAKE_E2FSCK)

    set_fault("none")
    return set_fault


def make_fs(tmp_path, state=0, options=None):
    fs = linux_testhost.make_unclean_ext4(str(tmp_path), "disk", size_mb=32, state=state, options=options)
    with open(os.path.join(fs["mountpoint"], "data.txt"), "w", encoding="utf-8") as handle:
        handle.write(PAYLOAD)
    os.sync()
    return fs


@pytest.fixture
def disk(tmp_path):
    made = []

    def make(**kw):
        made.append(make_fs(tmp_path, **kw))
        return made[-1]

    yield make
    for fs in made:
        problems = linux_testhost.cleanup(fs)
        assert not problems, problems


def play(tmp_path, inventory, mounts, repair=False, playbook=PLAYBOOK, fstab=None, pending=None):
    path = tmp_path / "play.yml"
    path.write_text(playbook)
    pending = pending or str(tmp_path / "pending.json")
    extra = {"test_mounts": mounts, "test_repair": repair, "test_pending": pending}
    if fstab is not None:
        (tmp_path / "fstab").write_text(fstab)
        extra["test_fstab"] = str(tmp_path / "fstab")
    proc = run_playbook(inventory, path, extra_vars=extra, json_output=True)
    assert hasattr(proc, "json"), proc.stdout + proc.stderr
    results = task_results(proc.json, "ext_filesystems" if playbook is PLAYBOOK else "linux_backup_facts")
    return proc, results["testhost"]


def mounted(fs):
    entry = linux_testhost.mount_entry(fs["mountpoint"])
    return bool(entry) and entry["device"] == fs["loopdev"]


def read_back(fs):
    assert mounted(fs), f"{fs['mountpoint']} is not mounted from {fs['loopdev']}"
    with open(os.path.join(fs["mountpoint"], "data.txt"), encoding="utf-8") as handle:
        assert handle.read() == PAYLOAD


# How the kernel shows an ext4 filesystem mounted errors=remount-ro after an error: since Linux 6.15
# (commit f3054e53 "ext4: add EXT4_FLAGS_EMERGENCY_RO bit") the super options list ``emergency_ro``;
# before it, ext4_handle_error set SB_RDONLY: the super options say ``ro`` while the per-mount options
# still say ``rw``. Both are exercised on any kernel: "kernel" is this kernel's own reaction (either
# form), "pre-6.15" makes the older form by hand (error recorded with errors=continue, then the shared
# superblock set read-only through a second mount of the same device, which is then unmounted).
KERNELS = ["kernel", "pre-6.15"]


def trigger_ext4_error(fs, kernel="kernel", workdir=None):
    """Record an ext4 error on ``fs`` and leave it as the kernel does; True when ``emergency_ro`` shows."""
    name = os.path.basename(fs["loopdev"])
    with open(f"/sys/fs/ext4/{name}/trigger_fs_error", "w", encoding="utf-8") as handle:
        handle.write("1")
    if kernel == "pre-6.15":
        subprocess.run(["mount", "-o", "remount,errors=remount-ro", fs["mountpoint"]], check=True)
        second = os.path.join(workdir, "second-mount")
        os.makedirs(second, exist_ok=True)
        subprocess.run(["mount", fs["loopdev"], second], check=True)
        try:
            subprocess.run(["mount", "-o", "remount,ro", second], check=True)
        finally:
            subprocess.run(["umount", second], check=True)
    entry = linux_testhost.mount_entry(fs["mountpoint"])
    emergency = "emergency_ro" in entry["super_options"]
    # either form, never neither: the filesystem is read-only for writers now
    assert emergency or "ro" in entry["super_options"].split(","), entry
    assert "rw" in entry["mount_options"].split(","), entry
    if kernel == "pre-6.15":
        assert not emergency, entry
    return emergency


# --- remount with options mount(8) accepts -------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
def test_emergency_ro_is_repaired_and_mounted_again(tmp_path, disk, local_inventory, kernel):
    fs = disk(state=None, options="errors=remount-ro" if kernel == "kernel" else "errors=continue")
    emergency = trigger_ext4_error(fs, kernel, str(tmp_path))
    assert "errors" in linux_testhost.fs_state(fs["loopdev"])
    proc, res = play(tmp_path, local_inventory, [fs["mountpoint"]], repair=True)
    assert proc.returncode == 0, res
    (entry,) = res["filesystems"]
    assert entry["action"] == "repaired", entry
    if emergency:  # the kernel's state flag is never given to mount(8)
        assert "emergency_ro" not in entry["remount_options"]
    assert "ro" not in entry["mounted_with"].split(","), entry  # the mode the user mounted it with: rw
    read_back(fs)
    after = linux_testhost.mount_entry(fs["mountpoint"])
    assert "errors=remount-ro" in after["super_options"] and "emergency_ro" not in after["super_options"]
    with open(os.path.join(fs["mountpoint"], "new.txt"), "w", encoding="utf-8") as handle:
        handle.write("x")  # read-write again
    assert res["finding_after"]["status"] == "pass"
    assert not os.path.exists(tmp_path / "pending.json")


def test_options_from_fstab_win_over_kernel_state(tmp_path, disk):
    from ansible_collections.vmbackup.azure.plugins.module_utils._linux_fs import remount_options

    fs = disk(state=None, options="errors=remount-ro")
    trigger_ext4_error(fs, "kernel", str(tmp_path))
    (entry,) = [e for e in linux_testhost_mountinfo() if e["mountpoint"] == fs["mountpoint"]]
    kernel, source = remount_options(entry, "")
    assert source == "mount table" and "emergency_ro" not in kernel.split(",")
    fstab = f"# comment\n{fs['loopdev']} {fs['mountpoint']} ext4 noatime,errors=remount-ro 0 2\n"
    assert remount_options(entry, fstab) == ("rw,noatime,errors=remount-ro", "/etc/fstab")
    # a line for the mount point that names another device is not this filesystem's (review finding 4)
    other = f"UUID=0f0f0f0f-0000-4000-8000-000000000000 {fs['mountpoint']} ext4 noauto,ro 0 2\n"
    assert remount_options(entry, other) == (kernel, "mount table")


# --- review finding 4: the remount keeps the mode and nosuid/nodev/noexec, or fails saying so ---------------


def test_refused_options_are_dropped_one_by_one_and_nosuid_nodev_stay(tmp_path, disk, local_inventory):
    fs = disk(options="nosuid,nodev")
    fstab = f"{fs['loopdev']} {fs['mountpoint']} ext4 nosuid,nodev,bogus1,noatime,bogus2 0 2\n"
    proc, res = play(tmp_path, local_inventory, [fs["mountpoint"]], repair=True, fstab=fstab)
    assert proc.returncode == 0, res
    (entry,) = res["filesystems"]
    assert entry["action"] == "repaired", entry
    # mount names the refused option (util-linux >= 2.39, new mount API) or the kernel is asked (fsconfig;
    # util-linux 2.38 here only says "bad option"): both refused options go, noatime stays
    assert entry["mounted_with"] == "rw,nosuid,nodev,noatime", entry
    read_back(fs)
    options = linux_testhost.mount_entry(fs["mountpoint"])["mount_options"].split(",")
    assert {"rw", "nosuid", "nodev"} <= set(options), options


def test_an_fstab_line_of_another_device_is_not_used(tmp_path, disk, local_inventory):
    fs = disk()
    fstab = f"UUID=0f0f0f0f-0000-4000-8000-000000000000 {fs['mountpoint']} ext4 noauto,ro 0 2\n"
    proc, res = play(tmp_path, local_inventory, [fs["mountpoint"]], repair=True, fstab=fstab)
    assert proc.returncode == 0, res
    (entry,) = res["filesystems"]
    assert entry["action"] == "repaired", entry
    assert entry["remount_options"].startswith("rw,") and "noauto" not in entry["remount_options"], entry
    read_back(fs)
    assert linux_testhost.mount_entry(fs["mountpoint"])["mount_options"].split(",")[0] == "rw"
    with open(os.path.join(fs["mountpoint"], "new.txt"), "w", encoding="utf-8") as handle:
        handle.write("x")  # read-write, as it was


def linux_testhost_mountinfo():
    from ansible_collections.vmbackup.azure.plugins.module_utils._linux_fs import read_mountinfo

    return read_mountinfo()


# --- an interrupted repair ----------------------------------------------------------------------


def test_sighup_and_sigterm_are_ignored_between_unmount_and_mount(tmp_path, disk, local_inventory, fault):
    fs = disk()
    fault("hup-term")
    proc, res = play(tmp_path, local_inventory, [fs["mountpoint"]], repair=True)
    assert proc.returncode == 0, res
    assert res["filesystems"][0]["action"] == "repaired", res
    read_back(fs)
    assert linux_testhost.fs_state(fs["loopdev"]) == "clean"


def test_killed_repair_is_reported_and_the_next_run_mounts_it_again(tmp_path, disk, local_inventory, fault):
    fs = disk()
    fault("kill")
    proc, res = play(tmp_path, local_inventory, [fs["mountpoint"]], repair=True)
    assert proc.returncode != 0
    assert not mounted(fs), "the fault kills the module between umount and mount"
    with open(tmp_path / "pending.json", encoding="utf-8") as handle:
        pending = json.load(handle)
    assert pending["pending"][fs["mountpoint"]]["device"] == fs["loopdev"]

    # the scan's facts and evaluator
    fault("none")
    proc, res = play(tmp_path, local_inventory, [], playbook=FACTS_PLAYBOOK)
    assert proc.returncode == 0, res
    facts = res["ansible_facts"]["vmbackup_linux"]
    (mine,) = [f for f in facts["ext_filesystems"] if f["mountpoint"] == fs["mountpoint"]]
    assert mine["pending_remount"]
    finding = evaluate_extfs(facts, {"mounts": [fs["mountpoint"]]})
    assert finding["status"] == "fail", finding
    assert "unmounted by an interrupted repair" in finding["detail"]

    # a run without repair says the same, changes nothing
    proc, res = play(tmp_path, local_inventory, [fs["mountpoint"]])
    assert res["finding"]["status"] == "fail" and "unmounted by an interrupted repair" in res["finding"]["detail"]
    assert res["filesystems"][0]["action"] == "refused"
    assert not mounted(fs)

    # the next repair checks it and mounts it again
    proc, res = play(tmp_path, local_inventory, [fs["mountpoint"]], repair=True)
    assert proc.returncode == 0, res
    assert res["changed"] is True
    assert res["filesystems"][0]["action"] == "repaired", res
    read_back(fs)
    assert linux_testhost.fs_state(fs["loopdev"]) == "clean"
    assert not os.path.exists(tmp_path / "pending.json")
    proc, res = play(tmp_path, local_inventory, [fs["mountpoint"]], repair=True)
    assert res["changed"] is False and res["finding"]["status"] == "pass"


# --- e2fsck exit codes --------------------------------------------------------------------------


@pytest.mark.parametrize("code", [8, 16, 32])
def test_e2fsck_that_changed_nothing_mounts_again_and_reports_its_code(tmp_path, disk, local_inventory, fault, code):
    fs = disk()
    fault(f"rc{code}")
    proc, res = play(tmp_path, local_inventory, [fs["mountpoint"]], repair=True)
    assert proc.returncode != 0
    (entry,) = res["filesystems"]
    assert entry["action"] == "failed"
    assert entry["fsck_rc"] == code
    assert f"rc {code}" in res["msg"] and "mounted again" in res["msg"]
    read_back(fs)
    assert not os.path.exists(tmp_path / "pending.json")


# --- review finding 5: whatever stops the repair between unmount and mount, it is mounted again ------------


def test_e2fsck_that_cannot_be_executed_mounts_again_and_says_so(tmp_path, disk, local_inventory, fault):
    fs = disk()
    fault("badexec")
    proc, res = play(tmp_path, local_inventory, [fs["mountpoint"]], repair=True)
    assert proc.returncode != 0 and res.get("failed") is True, res
    assert "stopped after it was unmounted" in res["msg"] and "mounted again" in res["msg"], res["msg"]
    assert res["filesystems"][0]["action"] == "failed", res
    read_back(fs)
    assert not os.path.exists(tmp_path / "pending.json")


# --- review NICE 7: the filesystem that holds the pending-remount record is not unmounted ------------------


def test_the_filesystem_holding_the_pending_record_is_refused(tmp_path, disk, local_inventory):
    fs = disk()
    pending = os.path.join(fs["mountpoint"], "var-lib", "pending.json")  # a separate /var, say
    proc, res = play(tmp_path, local_inventory, [fs["mountpoint"]], repair=True, pending=pending)
    (entry,) = res["filesystems"]
    assert entry["action"] == "refused", entry
    assert "pending-remount record" in entry["reason"] and pending in entry["reason"], entry
    assert res["changed"] is False and res["finding"]["status"] == "fail", res
    read_back(fs)
    assert linux_testhost.fs_state(fs["loopdev"]) == "not clean"
    assert not os.path.exists(pending)


# --- a mount point the user named that does not exist -------------------------------------------


def test_mistyped_mount_fails_before_anything_changes(tmp_path, disk, local_inventory):
    fs = disk()
    typo = fs["mountpoint"] + "x"
    proc, res = play(tmp_path, local_inventory, [fs["mountpoint"], typo], repair=True)
    assert proc.returncode != 0
    assert res.get("failed") is True
    assert typo in res["msg"] and "not a mount point" in res["msg"]
    assert res["changed"] is False
    read_back(fs)
    assert linux_testhost.fs_state(fs["loopdev"]) == "not clean"
    proc, res = play(tmp_path, local_inventory, [typo], playbook=FACTS_PLAYBOOK)
    finding = evaluate_extfs(res["ansible_facts"]["vmbackup_linux"], {"mounts": [typo]})
    assert finding["status"] == "error" and typo in finding["detail"]


# --- review finding 6: ``shutdown`` is a kernel state flag mount(8) refuses ---------------------------------


def test_xfs_shutdown_flag_is_never_given_to_mount(tmp_path):
    """An xfs the kernel shut down (``xfs_io -x -c "shutdown -f"``) is listed ``rw,shutdown`` by kernels that
    show the flag (this one does not: the line is written as such a kernel lists it); mount refuses the flag
    (measured below on a real xfs), so the options we mount with never carry it."""
    from ansible_collections.vmbackup.azure.plugins.module_utils._linux_fs import parse_mountinfo, remount_options

    image = tmp_path / "xfs.img"
    with open(image, "wb") as handle:
        handle.truncate(320 * 1024 * 1024)
    subprocess.run(["mkfs.xfs", "-q", "-f", str(image)], check=True)
    loop = subprocess.run(["losetup", "-f", "--show", str(image)], check=True, capture_output=True, text=True)
    loopdev = loop.stdout.strip()
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        st = os.stat(loopdev)
        line = (
            f"48 27 {os.major(st.st_rdev)}:{os.minor(st.st_rdev)} / {mnt} rw,relatime - xfs {loopdev} "
            "rw,shutdown,inode64,logbufs=8,logbsize=32k,noquota\n"
        )
        (entry,) = parse_mountinfo(line)
        options, source = remount_options(entry, "")
        assert source == "mount table" and "shutdown" not in options.split(","), options
        assert "shutdown" not in entry["options"].split(",")
        refused = subprocess.run(["mount", "-t", "xfs", "-o", options + ",shutdown", loopdev, str(mnt)], check=False)
        assert refused.returncode == 32, "mount refuses the kernel's shutdown flag"
        subprocess.run(["mount", "-t", "xfs", "-o", options, loopdev, str(mnt)], check=True)
        subprocess.run(["umount", str(mnt)], check=True)
    finally:
        subprocess.run(["umount", str(mnt)], check=False, capture_output=True)
        subprocess.run(["losetup", "-d", loopdev], check=True)


def test_probe_refused_asks_the_kernel_without_mounting():
    from ansible_collections.vmbackup.azure.plugins.module_utils._linux_fs import probe_refused

    options = ["rw", "nosuid", "nodev", "relatime", "errors=remount-ro", "data=ordered", "bogus1", "emergency_ro"]
    assert probe_refused("ext4", options) == ["bogus1", "emergency_ro"]
    assert probe_refused("xfs", ["rw", "inode64", "logbufs=8", "noquota", "shutdown"]) == ["shutdown"]
