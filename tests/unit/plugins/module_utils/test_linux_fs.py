"""Unit tests of plugins/module_utils/_linux_fs.py: parsers, the evaluator, the plan on a fake mount table.

No root needed: the mount table is a fake /proc/self/mountinfo and tune2fs a fake run_command.
The module is also run on the fake table to prove it never unmounts '/'.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.vmbackup.azure.plugins.module_utils import _linux_fs
from ansible_collections.vmbackup.azure.plugins.module_utils._linux_fs import (
    evaluate_extfs,
    find_holders,
    gather_ext_filesystems,
    merge_options,
    parse_mountinfo,
    parse_tune2fs,
    state_is_unclean,
    unescape_mount_path,
)
from ansible_collections.vmbackup.azure.plugins.modules import ext_filesystems

MOUNTINFO = r"""22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 8:1 / / rw,relatime shared:1 - ext4 /dev/root rw,errors=remount-ro
30 27 8:17 / /data\040disk rw,noatime shared:5 master:2 - ext4 /dev/sdb1 rw,seclabel,errors=remount-ro,data=ordered
31 27 8:33 / /srv\011tab\134x ro,relatime - ext3 /dev/sdc1 ro
32 30 0:40 / /data\040disk/tmp rw - tmpfs tmpfs rw
33 27 8:49 / /var/lib/xfs rw - xfs /dev/sdd1 rw,attr2
34 27 8:17 /sub /bind rw,relatime - ext4 /dev/sdb1 rw
35 27 8:65 / /home rw,relatime - ext4 /dev/sde1 rw
36 27 8:81 / /old rw,relatime - ext2 /dev/sdf1 rw
this line is garbage
"""


def tune2fs_output(state, journal=True):
    features = "has_journal ext_attr resize_inode dir_index filetype extent" if journal else "ext_attr filetype"
    return (
        "tune2fs 1.47.0 (5-Feb-2023)\n"
        "Filesystem volume name:   <none>\n"
        "Last mounted on:          /data\n"
        f"Filesystem features:      {features}\n"
        f"Filesystem state:         {state}\n"
        "Errors behavior:          Continue\n"
    )


class FakeRun:
    """run_command stand-in: {device: state or (rc, stderr)}; records every argv."""

    def __init__(self, states, journal=None):
        self.states = states
        self.journal = journal or {}
        self.calls = []

    def __call__(self, argv):
        self.calls.append(list(argv))
        device = argv[-1]
        value = self.states.get(device, "clean")
        if isinstance(value, tuple):
            return value[0], "", value[1]
        return 0, tune2fs_output(value, self.journal.get(device, True)), ""


@pytest.fixture
def mountinfo(tmp_path):
    path = tmp_path / "mountinfo"
    path.write_text(MOUNTINFO)
    return str(path)


def gather(mountinfo, states, **kw):
    kw.setdefault("holders", False)
    kw.setdefault("fstab_path", "")
    kw.setdefault("pending_file", None)
    return gather_ext_filesystems(FakeRun(states), mountinfo_path=mountinfo, **kw)


# --- parsers ---------------------------------------------------------------------------------


def test_unescape_mount_path():
    assert unescape_mount_path(r"/a\040b\011c\012d\134e") == "/a b\tc\nd\\e"
    assert unescape_mount_path("/plain") == "/plain"


def test_parse_mountinfo_fields_and_escapes():
    entries = parse_mountinfo(MOUNTINFO)
    assert len(entries) == 9  # the garbage line is skipped
    data = entries[2]
    assert data["mountpoint"] == "/data disk"
    assert (data["major"], data["minor"]) == (8, 17)
    assert data["fstype"] == "ext4"
    assert data["source"] == "/dev/sdb1"
    assert data["optional"] == ["shared:5", "master:2"]
    assert data["mount_options"] == ["rw", "noatime"]
    assert data["super_options"] == ["rw", "seclabel", "errors=remount-ro", "data=ordered"]
    # rw once, seclabel (refused by mount) left out
    assert data["options"] == "rw,noatime,errors=remount-ro,data=ordered"
    assert entries[3]["mountpoint"] == "/srv\ttab\\x"
    assert entries[6]["root"] == "/sub"


def test_merge_options_keeps_the_per_mount_mode():
    assert merge_options(["ro", "relatime"], ["rw", "errors=continue"]) == ["ro", "relatime", "errors=continue"]
    assert merge_options([], ["rw"]) == ["rw"]


@pytest.mark.parametrize(
    "state,expected",
    [
        ("clean", "clean"),
        ("not clean", "not clean"),
        ("not clean with errors", "not clean with errors"),
        ("clean with errors", "clean with errors"),
        ("Not  Clean", "not clean"),
    ],
)
def test_parse_tune2fs_states(state, expected):
    parsed = parse_tune2fs(tune2fs_output(state))
    assert parsed["state"] == expected
    assert parsed["state_raw"] == state
    assert parsed["journal"] is True
    assert parsed["fields"]["Errors behavior"] == "Continue"


def test_parse_tune2fs_without_state_line():
    parsed = parse_tune2fs("tune2fs 1.47.0 (5-Feb-2023)\nBad magic number in super-block\n")
    assert parsed["state"] is None
    assert parsed["state_raw"] == ""


@pytest.mark.parametrize(
    "fs,expected",
    [
        ({"state": "clean"}, False),
        ({"state": "not clean"}, True),
        ({"state": "clean with errors"}, True),
        ({"state": "not clean with errors", "journal": False}, True),
        # no journal, mounted read-write: the kernel keeps the superblock "not clean" meanwhile
        ({"state": "not clean", "journal": False, "read_only": False}, False),
        ({"state": "not clean", "journal": False, "read_only": True}, True),
        ({"state": None}, None),
    ],
)
def test_state_is_unclean(fs, expected):
    assert state_is_unclean(fs) is expected


# --- gather on a fake mount table --------------------------------------------------------------


def test_gather_all_ext_filesystems(mountinfo):
    facts = gather(mountinfo, {"/dev/sdb1": "not clean"})
    by_mp = {fs["mountpoint"]: fs for fs in facts}
    assert sorted(by_mp) == ["/", "/bind", "/data disk", "/home", "/old", "/srv\ttab\\x"]
    data = by_mp["/data disk"]
    for key in ("mountpoint", "device", "fstype", "options", "state", "state_raw", "is_root"):
        assert key in data
    assert data["state"] == "not clean"
    assert data["is_root"] is False
    assert data["submounts"] == ["/data disk/tmp"]
    assert data["also_mounted_at"] == ["/bind"]
    assert by_mp["/"]["is_root"] is True
    assert by_mp["/"]["root_device"] is True
    assert by_mp["/srv\ttab\\x"]["read_only"] is True
    assert by_mp["/bind"]["mount_root"] == "/sub"


def test_gather_requested_mounts_reports_non_ext(mountinfo):
    facts = gather(mountinfo, {}, mounts=["/home/", "/var/lib/xfs", "/nowhere"], exclude=["/old"])
    by_mp = {fs["mountpoint"]: fs for fs in facts}
    assert by_mp["/home"]["present"] is True
    assert by_mp["/var/lib/xfs"]["present"] is False
    assert "xfs" in by_mp["/var/lib/xfs"]["error"]
    assert by_mp["/nowhere"]["present"] is False
    assert "not a mount point" in by_mp["/nowhere"]["error"]


def test_gather_tune2fs_failure_is_an_error_not_an_exception(mountinfo):
    facts = gather(mountinfo, {"/dev/sde1": (1, "Operation not permitted")}, mounts=["/home"])
    assert facts[0]["state"] is None
    assert "Operation not permitted" in facts[0]["error"]
    finding = evaluate_extfs({"ext_filesystems": facts})
    assert finding["status"] == "error"
    assert "Operation not permitted" in finding["detail"]


def test_gather_runs_tune2fs_once_per_device(mountinfo):
    run = FakeRun({})
    gather_ext_filesystems(run, mountinfo_path=mountinfo, holders=False)
    devices = [argv[-1] for argv in run.calls]
    assert len(devices) == len(set(devices))
    assert all(argv[1] == "-l" for argv in run.calls)


# --- the evaluator -----------------------------------------------------------------------------


def fs(mp="/data", state="not clean", **kw):
    base = {
        "mountpoint": mp,
        "device": "/dev/sdb1",
        "fstype": "ext4",
        "options": "rw,relatime",
        "state": state,
        "state_raw": state,
        "is_root": mp == "/",
        "present": True,
        "journal": True,
        "mount_root": "/",
        "submounts": [],
        "also_mounted_at": [],
        "holders": [],
    }
    base.update(kw)
    return base


def test_evaluate_pass():
    finding = evaluate_extfs({"ext_filesystems": [fs(state="clean"), fs("/srv", state="clean")]})
    assert finding["status"] == "pass"
    assert finding["error_code"] == "UserErrorFsFreezeFailed"
    assert finding["actions"] == []
    assert finding["fix"] == ""


def test_evaluate_not_applicable():
    assert evaluate_extfs({"ext_filesystems": []})["status"] == "not_applicable"
    missing = fs(
        state=None, present=False, error="/data is not a mounted ext2/ext3/ext4 filesystem (not a mount point)"
    )
    finding = evaluate_extfs([missing])
    assert finding["status"] == "not_applicable"
    assert "not a mount point" in finding["detail"]


def test_evaluate_fail_without_opt_in_says_why():
    finding = evaluate_extfs({"ext_filesystems": [fs()]}, {"repair": False})
    assert finding["status"] == "fail"
    assert "/data" in finding["detail"] and "not clean" in finding["detail"]
    (action,) = finding["actions"]
    assert action == {
        "action": "fsck_remount",
        "mountpoint": "/data",
        "device": "/dev/sdb1",
        "allowed": False,
        "disruptive": True,
        "reason": action["reason"],
    }
    assert "not opted in" in action["reason"]
    assert "would not touch /data" in finding["fix"]


def test_evaluate_fail_with_repair_is_allowed():
    finding = evaluate_extfs({"ext_filesystems": [fs(), fs("/ok", state="clean")]}, {"repair": True})
    (action,) = finding["actions"]
    assert action["allowed"] is True
    for words in ("umount /data", "fsck -y /dev/sdb1", "rw,relatime"):
        assert words in finding["fix"]


@pytest.mark.parametrize(
    "kw,words",
    [
        ({"holders": [{"pid": 42, "comm": "sleep", "uses": ["cwd"]}]}, ["busy", "pid 42 (sleep) cwd"]),
        ({"submounts": ["/data/tmp"]}, ["mounted below", "/data/tmp"]),
        ({"also_mounted_at": ["/bind"]}, ["also mounted at /bind"]),
        ({"mount_root": "/sub"}, ["bind mount"]),
        ({"root_device": True}, ["device of '/'"]),
        ({"loop_autoclear": True}, ["detaches"]),
    ],
)
def test_evaluate_refuses_even_with_repair(kw, words):
    finding = evaluate_extfs([fs(**kw)], {"repair": True})
    (action,) = finding["actions"]
    assert action["allowed"] is False
    for word in words:
        assert word in action["reason"]
        assert word in finding["fix"]


def test_evaluate_never_allows_root():
    finding = evaluate_extfs([fs("/", device="/dev/sda1", is_root=True)], {"repair": True})
    (action,) = finding["actions"]
    assert action["allowed"] is False
    assert "'/' is never unmounted" in action["reason"]


def test_evaluate_mounts_and_exclude_filter():
    facts = {"ext_filesystems": [fs("/a"), fs("/b"), fs("/c", state="clean")]}
    assert [a["mountpoint"] for a in evaluate_extfs(facts, {"exclude": ["/a"]})["actions"]] == ["/b"]
    assert evaluate_extfs(facts, {"mounts": ["/c/"]})["status"] == "pass"


def test_evaluate_error_wins_but_keeps_actions():
    facts = [fs("/a"), fs("/b", state=None, error="tune2fs -l /dev/sdc1 failed (rc 1): denied")]
    finding = evaluate_extfs(facts, {"repair": True})
    assert finding["status"] == "error"
    assert [a["mountpoint"] for a in finding["actions"]] == ["/a"]
    assert "denied" in finding["detail"]


def test_evaluate_unjournaled_rw_is_not_a_failure():
    finding = evaluate_extfs([fs("/old", fstype="ext2", journal=False, read_only=False)])
    assert finding["status"] == "pass"
    assert "no journal" in finding["detail"]


# --- the plan never touches '/' (fake mount table, the real module code) -----------------------


def test_plan_refuses_root_on_fake_mountinfo(mountinfo):
    facts = gather(mountinfo, {"/dev/root": "not clean with errors", "/dev/sda1": "not clean with errors"})
    finding = evaluate_extfs({"ext_filesystems": facts}, {"repair": True})
    root = [a for a in finding["actions"] if a["mountpoint"] == "/"]
    assert root and root[0]["allowed"] is False
    assert "'/' is never unmounted" in root[0]["reason"]


class _Exit(Exception):
    def __init__(self, result):
        super().__init__(result)
        self.result = result


def run_module(monkeypatch, mountinfo, states, args):
    """Run ext_filesystems.main() on the fake mount table; every command goes to a recorder."""
    calls = []
    fake = FakeRun(states)

    def run_command(self, argv, **kw):
        calls.append(list(argv))
        if os.path.basename(argv[0]) == "tune2fs":
            return fake(argv)
        return 0, "", ""

    real_gather = gather_ext_filesystems

    def fake_gather(run, **kw):
        kw["holders"] = False
        return real_gather(run, mountinfo_path=mountinfo, **kw)

    def exit_json(self, **result):
        raise _Exit(result)

    def fail_json(self, **result):
        result["failed"] = True
        raise _Exit(result)

    monkeypatch.setattr(ext_filesystems, "gather_ext_filesystems", fake_gather)
    real_other = ext_filesystems.gather_other_filesystems
    monkeypatch.setattr(
        ext_filesystems, "gather_other_filesystems", lambda run, **kw: real_other(run, mountinfo_path=mountinfo, **kw)
    )
    monkeypatch.setattr(ext_filesystems, "read_conf_facts", lambda path: {"path": path, "exists": False})
    monkeypatch.setattr(ext_filesystems.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(ext_filesystems.AnsibleModule, "get_bin_path", lambda self, name, **kw: "/sbin/" + name)
    monkeypatch.setattr(ext_filesystems.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(ext_filesystems.AnsibleModule, "fail_json", fail_json)
    with patch_module_args(args), pytest.raises(_Exit) as exc:
        ext_filesystems.main()
    return exc.value.result, calls


def test_module_never_unmounts_root(monkeypatch, mountinfo):
    result, calls = run_module(monkeypatch, mountinfo, {"/dev/root": "not clean"}, {"mounts": ["/"], "repair": True})
    assert not result.get("failed")
    assert result["changed"] is False
    assert [os.path.basename(c[0]) for c in calls] == ["tune2fs"]
    (entry,) = result["filesystems"]
    assert entry["action"] == "refused"
    assert "'/' is never unmounted" in entry["reason"]


def test_module_rejects_relative_mount(monkeypatch, mountinfo):
    result, calls = run_module(monkeypatch, mountinfo, {}, {"mounts": ["data"], "repair": True})
    assert result["failed"]
    assert "mounts" in result["msg"] and "'data'" in result["msg"]
    assert calls == []


def test_module_check_mode_plans_without_commands(monkeypatch, mountinfo):
    args = {"mounts": ["/home"], "repair": True, "_ansible_check_mode": True, "_ansible_diff": True}
    result, calls = run_module(monkeypatch, mountinfo, {"/dev/sde1": "not clean"}, args)
    assert result["changed"] is True
    assert [os.path.basename(c[0]) for c in calls] == ["tune2fs"]
    assert result["filesystems"][0]["action"] == "would_repair"
    assert result["diff"] == {"before": {"/home": "not clean"}, "after": {"/home": "clean"}}


# --- holders (real /proc, a process of our own) -------------------------------------------------


def test_find_holders_sees_a_cwd(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], cwd=tmp_path)
    try:
        st = os.stat(tmp_path)
        dev = (os.major(st.st_dev), os.minor(st.st_dev))
        for _attempt in range(50):
            holders = find_holders({dev})[dev]
            if any(h["pid"] == proc.pid for h in holders):
                break
        mine = [h for h in holders if h["pid"] == proc.pid]
        assert mine and "cwd" in mine[0]["uses"]
        assert all(h["pid"] != os.getpid() for h in holders)
        assert json.dumps(holders)  # plain data
    finally:
        proc.kill()
        proc.wait()


def test_describe_holders_limits():
    holders = [{"pid": i, "comm": "x", "uses": ["cwd"]} for i in range(8)]
    text = _linux_fs.describe_holders(holders, limit=2)
    assert text.endswith("6 more")


# --- mounting again, the pending-remount record -----------------------


def test_remount_options_drop_kernel_state_flags_and_prefer_fstab():
    (entry,) = parse_mountinfo("48 27 7:0 / /mnt/d rw,relatime - ext4 /dev/loop0 rw,errors=remount-ro,emergency_ro\n")
    assert _linux_fs.remount_options(entry, "") == ("rw,relatime,errors=remount-ro", "mount table")
    fstab = "UUID=abc /mnt/d ext4 defaults,noatime 0 2\n#/dev/x /mnt/d ext4 ro 0 0\n"
    assert _linux_fs.remount_options(entry, fstab, uuid="ABC") == ("rw,noatime", "/etc/fstab")
    assert _linux_fs.remount_options(entry, "UUID=abc /mnt/other ext4 ro 0 0\n", uuid="abc")[1] == "mount table"


# --- review finding 4: never guess the options of another device, keep the mode and nosuid/nodev/noexec ----


def test_remount_options_ignore_an_fstab_line_of_another_device():
    (entry,) = parse_mountinfo("48 27 7:0 / /mnt/d rw,relatime - ext4 /dev/loop0 rw,errors=remount-ro\n")
    for spec in ("UUID=other", "LABEL=nosuchlabel", "PARTUUID=nosuch", "/dev/nonexistent-device"):
        fstab = f"{spec} /mnt/d ext4 noauto,ro 0 2\n"
        assert _linux_fs.remount_options(entry, fstab, uuid="abc") == ("rw,relatime,errors=remount-ro", "mount table")


def test_remount_options_keep_the_mode_and_the_restricting_options_in_force():
    (entry,) = parse_mountinfo("48 27 7:0 / /mnt/d rw,nosuid,nodev,relatime - ext4 /dev/loop0 rw\n")
    # the same device: its fstab line, but mounted rw now stays rw and nosuid,nodev (added by hand) stay
    assert _linux_fs.remount_options(entry, "UUID=abc /mnt/d ext4 noauto,ro 0 2\n", uuid="abc") == (
        "rw,noauto,nosuid,nodev",
        "/etc/fstab",
    )
    assert _linux_fs.remount_options(entry, "UUID=abc /mnt/d ext4 defaults,suid 0 2\n", uuid="abc")[0] == (
        "rw,suid,nosuid,nodev"  # mount(8): the last one wins
    )
    (ro_entry,) = parse_mountinfo("48 27 7:0 / /mnt/d ro,noexec - ext4 /dev/loop0 ro\n")
    assert _linux_fs.remount_options(ro_entry, "UUID=abc /mnt/d ext4 defaults 0 2\n", uuid="abc")[0] == "ro,noexec"


def test_refused_option_is_the_one_mount_names():
    opts = ["rw", "nosuid", "nodev", "bogus", "errors=remount-ro"]
    new_api = "mount: /mnt/d: fsconfig system call failed: ext4: Unknown parameter 'bogus'."
    assert _linux_fs.refused_option(new_api, opts) == "bogus"
    assert _linux_fs.refused_option('EXT4-fs (loop0): Unrecognized mount option "errors" or missing value', opts) == (
        "errors=remount-ro"
    )
    old_api = "mount: /mnt/d: wrong fs type, bad option, bad superblock on /dev/loop0, missing codepage"
    assert _linux_fs.refused_option(old_api, opts) is None
    assert _linux_fs.refused_option("Unknown parameter 'rw'", opts) is None  # never the mode


def test_lost_options_are_the_mode_and_the_restricting_ones():
    assert _linux_fs.lost_options(["rw", "nosuid", "nodev", "bogus"], ["rw"]) == ["nosuid", "nodev"]
    assert _linux_fs.lost_options(["rw", "relatime", "bogus"], ["rw"]) == []
    assert _linux_fs.lost_options(["rw", "relatime"], ["ro"]) == ["rw"]
    assert _linux_fs.lost_options(["ro", "noexec"], ["ro", "noexec"]) == []


def test_mount_attempts_drop_each_option_then_ro():
    tries = _linux_fs.mount_attempts("rw,relatime,bogus")
    assert tries == [["rw", "relatime", "bogus"], ["rw", "relatime"], ["rw", "bogus"], ["rw"], ["ro"]]
    assert _linux_fs.mount_attempts("") == [[], ["ro"]]
    assert _linux_fs.mount_attempts("rw,nosuid,bogus,x", refused=["bogus"])[0] == ["rw", "nosuid", "x"]
    # two options refused without a name: no single drop works, nosuid/nodev are kept before the bare mode
    tries = _linux_fs.mount_attempts("rw,nosuid,nodev,bogus,emergency_ro")
    assert tries.index(["rw", "nosuid", "nodev"]) < tries.index(["rw"])


def test_pending_record_roundtrip_and_unreadable(tmp_path):
    path = str(tmp_path / "sub" / "pending.json")
    assert _linux_fs.read_pending(path) == {}
    _linux_fs.write_pending({"/d": {"device": "/dev/x"}}, path)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert _linux_fs.read_pending(path) == {"/d": {"device": "/dev/x"}}
    _linux_fs.write_pending({}, path)
    assert not os.path.exists(path)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("{not json")
    with pytest.raises(ValueError, match="pending.json"):
        _linux_fs.read_pending(path)


def test_evaluate_pending_is_a_failure_and_needs_opt_in():
    pending = fs(present=False, pending_remount={"device": "/dev/sdb1", "pid": 7, "started": "T"}, state="clean")
    finding = evaluate_extfs([pending], {"mounts": ["/other"]})
    assert finding["status"] == "fail"
    assert "unmounted by an interrupted repair" in finding["detail"]
    assert finding["actions"][0]["allowed"] is False and "not opted in" in finding["actions"][0]["reason"]
    finding = evaluate_extfs([pending], {"repair": True})
    assert finding["actions"][0]["allowed"] is True
    over = dict(pending, mounted_over="/dev/sdz (ext4)")
    assert "is mounted at /data now" in evaluate_extfs([over], {"repair": True})["actions"][0]["reason"]
    rc4 = dict(pending, pending_remount={"device": "/dev/sdb1", "fsck_rc": 4})
    assert "could not correct every error (rc 4)" in evaluate_extfs([rc4])["detail"]


def test_evaluate_named_mount_that_is_not_mounted_is_an_error(mountinfo):
    facts = gather(mountinfo, {}, mounts=["/nowhere"])
    finding = evaluate_extfs({"ext_filesystems": facts})
    assert finding["status"] == "error"
    assert "/nowhere was named in mounts but nothing is mounted there" in finding["detail"]


class _FakeModule:
    """What ExtFilesystems.finish uses of AnsibleModule: mount accepts only the option sets in ``accepts``."""

    def __init__(self, accepts):
        self.accepts = accepts
        self.calls = []

    def get_bin_path(self, name, required=False):
        return f"/usr/bin/{name}"

    def run_command(self, argv, environ_update=None):
        self.calls.append(argv)
        opts = argv[argv.index("-o") + 1] if "-o" in argv else ""
        if opts in self.accepts:
            return 0, "", ""
        return 32, "", "mount: /mnt/d: wrong fs type, bad option, bad superblock on /dev/loop9"


def _finish(tmp_path, options, accepts):
    from ansible_collections.vmbackup.azure.plugins.modules import ext_filesystems as mod

    fake = _FakeModule(accepts)
    repairer = object.__new__(mod.ExtFilesystems)
    repairer.module, repairer.params = fake, {}
    repairer.pending_file, repairer.pending = str(tmp_path / "pending.json"), {"/mnt/d": {"device": "/dev/loop9"}}
    fs = {"mountpoint": "/mnt/d", "device": "/dev/loop9", "fstype": "ext4"}
    report = {"notes": []}
    return mod, repairer, fake, lambda: repairer.finish(fs, options, 0, None, report), report


def test_a_remount_that_loses_nosuid_nodev_is_a_failure_naming_device_and_commands(tmp_path):
    mod, repairer, fake, finish, report = _finish(tmp_path, "rw,nosuid,nodev,bogus", accepts={"rw"})
    with pytest.raises(mod.RepairError) as info:
        finish()
    msg = str(info.value)
    assert "/dev/loop9" in msg and "WITHOUT nosuid, nodev" in msg, msg
    assert "/usr/bin/mount -t ext4 -o rw /dev/loop9 /mnt/d" in msg  # the command that worked
    assert "/usr/bin/mount -o remount,nosuid,nodev /mnt/d" in msg  # the one that restores them
    assert report["mounted_with"] == "rw" and repairer.pending == {}  # mounted: the record is gone


def test_a_remount_that_keeps_nosuid_nodev_is_a_success(tmp_path):
    mod, repairer, fake, finish, report = _finish(tmp_path, "rw,nosuid,nodev,b1,b2", accepts={"rw,nosuid,nodev"})
    finish()
    assert report["mounted_with"] == "rw,nosuid,nodev"


def test_a_read_only_remount_of_a_rw_filesystem_is_a_failure(tmp_path):
    mod, repairer, fake, finish, report = _finish(tmp_path, "rw,relatime", accepts={"ro"})
    with pytest.raises(mod.RepairError, match="WITHOUT rw"):
        finish()


def test_a_failed_record_write_does_not_hide_that_it_is_unmounted(tmp_path, monkeypatch):
    mod, repairer, fake, finish, report = _finish(tmp_path, "rw,relatime", accepts=set())

    def full_disk(pending, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mod, "write_pending", full_disk)
    with pytest.raises(mod.RepairError) as info:
        finish()
    msg = str(info.value)
    assert "/mnt/d is NOT mounted" in msg and "FAILED with every option set" in msg, msg
    assert "cannot write the pending-remount record" in msg and "No space left" in msg, msg


def test_kernel_state_flags_are_left_out_of_the_options(tmp_path):
    line = "48 27 7:0 / /mnt/x rw,relatime - xfs /dev/loop0 rw,shutdown,inode64,noquota\n"
    (entry,) = parse_mountinfo(line)
    assert entry["options"] == "rw,relatime,inode64,noquota"
    assert _linux_fs.remount_options(entry, "") == ("rw,relatime,inode64,noquota", "mount table")
