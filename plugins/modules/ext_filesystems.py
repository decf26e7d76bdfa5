#!/usr/bin/python
# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ext_filesystems
short_description: Keep mounted ext2/ext3/ext4 filesystems clean (fix for UserErrorFsFreezeFailed)
version_added: 0.1.0
description:
  - Reads the state of mounted ext2/ext3/ext4 filesystems (C(Filesystem state) of C(tune2fs -l)).
    Azure Backup fails with C(UserErrorFsFreezeFailed) when one of them is not V(clean).
  - With O(repair=true), each filesystem that is not clean is unmounted, checked with
    C(e2fsck -f -y) and mounted again with the same device, type and options. This interrupts
    everything that uses the filesystem, so it is opt-in.
  - The module never unmounts C(/) nor the device of C(/), a bind mount of a subdirectory, a device
    mounted at more than one place, a filesystem with other mounts below it, a loop device that
    detaches on unmount, or a busy filesystem. A filesystem is busy when a process has its working
    directory, root, executable, an open file or a mapped file on it, when it is mounted in another
    mount namespace, or when a swap file or a loop device uses a file on it. The holders (pid and
    command) are reported.
  - Everything is read before anything is changed. If C(e2fsck) cannot correct the errors (its exit
    code has bit 4 set) the filesystem is left unmounted and the task fails saying so. For every
    other exit code it is mounted again; codes 8, 16, 32 and a signal (e2fsck checked nothing) fail
    the task with the real exit code in RV(filesystems[].fsck_rc). Later filesystems are then left alone.
  - It is mounted again with the options of its C(/etc/fstab) line when that line names the same device
    (C(UUID=), C(LABEL=), C(PARTUUID=), C(PARTLABEL=) or a device path), or else the options of the mount
    table without the kernel's state flags (C(emergency_ro), C(shutdown), C(seclabel)), which C(mount)
    refuses; always in the mode (C(rw)/C(ro)) it was mounted with and with the C(nosuid), C(nodev),
    C(noexec) in force.
    Every option C(mount) names as refused is dropped and it is tried again; when C(mount) names none
    (util-linux before 2.39), the kernel is asked which it refuses without mounting (fsopen/fsconfig) and
    those are dropped; failing that, it is retried without each option in turn, then with the mode and
    C(nosuid), C(nodev), C(noexec) only, then with the mode only, then read-only. A mount that lost the
    mode or C(nosuid)/C(nodev)/C(noexec) fails the task naming the device, the C(mount) command that
    worked and the one that restores them.
  - Before unmounting, the module records the filesystem in O(pending_file) and ignores SIGHUP,
    SIGTERM and SIGINT until it is mounted again. If the run is killed anyway, the scan
    (M(vmbackup.azure.linux_backup_facts)) and every later run report it as unmounted by an
    interrupted repair (a failure), and the next run with O(repair=true) checks it and mounts it again.
  - When the state of a filesystem cannot be read, the module warns and its RV(finding)
    C(status) is V(error); it does not fail for that.
  - Mounted xfs and btrfs filesystems are checked read-only and only reported (their repair needs an
    unmount - C(xfs_repair) - or a long online scrub) - an xfs the kernel shut down (directory reads fail with
    EIO; C(xfs_info)), a btrfs whose C(btrfs device stats) error counters are not zero or whose last
    C(btrfs scrub status) found errors. RV(finding) fails for them with a C(repair_offline) action that is
    never allowed.
  - The plan comes from the same evaluator as the scan (M(vmbackup.azure.backup_scan)), so a scan and
    a run in check mode agree.
options:
  mounts:
    description:
      - Absolute mount points to check. Empty means every mounted ext2/ext3/ext4 filesystem.
      - A mounted filesystem that is not ext2/3/4 is reported (C(action=absent)).
      - A mount point where nothing is mounted (a typo) fails the task before anything is changed.
    type: list
    elements: path
    default: []
  exclude:
    description:
      - Absolute mount points never to check nor touch.
    type: list
    elements: path
    default: []
  repair:
    description:
      - Unmount, check (C(e2fsck -f -y)) and mount again each filesystem that is not clean.
      - Disruptive. With V(false) (the default) the module only reports.
    type: bool
    default: false
  vmbackup_conf:
    description:
      - The backup extension's configuration file. Mount points in its C([SnapshotThread] mountstoskip) are
        not frozen by the extension, so they are not a finding and not repaired (when the file parses as the
        extension reads it).
    type: path
    default: /etc/azure/vmbackup.conf
  pending_file:
    description:
      - Where the module records a filesystem it unmounted until it is mounted again (JSON, mode 0600
        in a 0700 directory). Keep the default outside tests; the scan reads the same path
        (O(vmbackup.azure.linux_backup_facts#module:ext_pending_file)). The filesystem that holds this file
        (e.g. a separate C(/var)) is never unmounted by the repair (the record could not be kept).
    type: path
    default: /var/lib/vmbackup-azure/ext_filesystems-pending.json
  fstab_path:
    description:
      - The fstab(5) the options to mount a filesystem again come from (its line is used only when it names
        the device mounted there). Keep the default outside tests.
    type: path
    default: /etc/fstab
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads everything and reports what would change; unmounts and checks nothing.
  diff_mode:
    support: full
    details: The state of each filesystem before and after.
  platform:
    support: full
    platforms: posix
    details: Linux guests (ext2/ext3/ext4, e2fsprogs, util-linux).
requirements:
  - e2fsprogs (C(tune2fs), C(e2fsck)) and util-linux (C(mount), C(umount)) on the managed host.
  - Root privileges (C(become=true)) to read the superblock and unmount.
notes:
  - A filesystem without a journal (ext2, or ext4 created without one) mounted read-write always
    has an on-disk state of C(not clean); that is normal and not reported as a failure. Only
    C(with errors) counts for such a filesystem.
  - The kernel keeps C(/) mounted; to check it, schedule a check at the next boot (for example kernel
    parameter C(fsck.mode=force)).
  - Run it on a few hosts at a time (C(serial)) and when no backup is running.
author:
  - vmbackup.azure maintainers (@vmbackup)
seealso:
  - module: vmbackup.azure.linux_backup_facts
  - module: vmbackup.azure.backup_scan
  - name: UserErrorFsFreezeFailed
    description: Microsoft's troubleshooting page, section UserErrorFsFreezeFailed.
    link: https://learn.microsoft.com/azure/backup/backup-azure-vms-troubleshoot
"""

EXAMPLES = r"""
- name: Report ext filesystems that are not clean (changes nothing)
  vmbackup.azure.ext_filesystems:
  become: true
  register: extfs

- name: Repair /data and /srv when they are not clean (unmounts them for the check)
  vmbackup.azure.ext_filesystems:
    mounts: [/data, /srv]
    repair: true
  become: true

- name: Repair every ext filesystem except /var/lib/docker, one host at a time
  vmbackup.azure.ext_filesystems:
    exclude: [/var/lib/docker]
    repair: true
  become: true
  throttle: 1
"""

RETURN = r"""
filesystems:
  description: One entry per checked mount point.
  returned: always
  type: list
  elements: dict
  contains:
    mountpoint:
      description: Mount point.
      type: str
      sample: /data
    device:
      description: Block device.
      type: str
      sample: /dev/sdc1
    fstype:
      description: V(ext2), V(ext3) or V(ext4).
      type: str
      sample: ext4
    options:
      description: Mount options (per mount and superblock), as given to C(mount -o) when mounting again.
      type: str
      sample: rw,relatime
    state_before:
      description: C(Filesystem state) from C(tune2fs -l) before the run; null when it could not be read.
      type: str
      sample: not clean
    state_after:
      description: The state after the run (in check mode, the predicted state).
      type: str
      sample: clean
    action:
      description:
        - V(none) (clean), V(repaired), V(would_repair) (check mode), V(refused) (not clean but not
          touched, see RV(filesystems[].reason); also a filesystem left unmounted by an interrupted
          repair without O(repair=true)), V(failed), V(unknown) (state unreadable), V(absent) (not a mounted
          ext filesystem), V(skipped) (listed in C(mountstoskip), the extension does not freeze it).
      type: str
      sample: repaired
    reason:
      description: Why a filesystem was refused, or what was done.
      type: str
    holders:
      description: What keeps the filesystem busy (only looked for on filesystems that are not clean).
      type: list
      elements: dict
      sample: [{pid: 4242, comm: sleep, uses: [cwd]}]
    fsck_rc:
      description: Exit code of C(e2fsck) when it ran (negative - killed by that signal).
      type: int
      sample: 1
    remount_options:
      description: The options it is (or would be) mounted again with, from C(/etc/fstab) or the mount table.
      type: str
      sample: rw,relatime,errors=remount-ro
    mounted_with:
      description: The options C(mount) accepted when it was mounted again (only after V(repaired)).
      type: str
      sample: rw,relatime
finding:
  description:
    - The UserErrorFsFreezeFailed finding for the state found before the run (the plan); the same as
      the scan reports.
  returned: always
  type: dict
  contains:
    error_code:
      description: V(UserErrorFsFreezeFailed).
      type: str
    status:
      description: V(pass), V(fail), V(not_applicable) or V(error).
      type: str
    detail:
      description: Why, human readable.
      type: str
    fix:
      description: What the fix changes or why it will not; empty when nothing.
      type: str
    actions:
      description: One C(fsck_remount) action per filesystem that is not clean, with C(allowed) and C(reason).
      type: list
      elements: dict
finding_after:
  description: The finding for the state after the run (in check mode, the same as RV(finding)).
  returned: always
  type: dict
"""

import contextlib
import errno
import os
import shlex
import signal
import time
from collections.abc import Iterator
from typing import NoReturn

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vmbackup.azure.plugins.module_utils._linux_fs import (
    PENDING_FILE,
    describe_pending,
    evaluate_extfs,
    gather_ext_filesystems,
    gather_other_filesystems,
    lost_options,
    mount_attempts,
    mountstoskip,
    probe_refused,
    read_ext_state,
    read_mountinfo,
    read_pending,
    refused_option,
    state_is_unclean,
    write_pending,
)
from ansible_collections.vmbackup.azure.plugins.module_utils._linux_host import C_LOCALE
from ansible_collections.vmbackup.azure.plugins.module_utils._vmbackup_conf import read_conf_facts

# e2fsck(8) "EXIT CODE": a bit mask. Only 4 (errors left uncorrected) keeps the filesystem unmounted.
E2FSCK_CODES = {
    1: "errors corrected",
    2: "errors corrected, reboot needed",
    4: "errors left uncorrected",
    8: "operational error",
    16: "usage or syntax error",
    32: "cancelled by user request",
    128: "shared-library error",
}


def describe_rc(rc: int) -> str:
    if rc < 0:
        return f"killed by signal {-rc}"
    return ", ".join(text for bit, text in E2FSCK_CODES.items() if rc & bit) or "no errors"


class ModuleFailure(Exception):
    """``fail_json`` (e.g. ``run_command`` that cannot execute a program) while a filesystem is unmounted."""


@contextlib.contextmanager
def failures_raise(module: AnsibleModule) -> Iterator[None]:
    """``module.fail_json`` raises ModuleFailure instead of printing a result and exiting, so the caller
    can mount the filesystem again and report once."""
    original = module.fail_json

    def raising(msg: str = "", **kwargs) -> NoReturn:
        raise ModuleFailure(msg)

    module.fail_json = raising
    try:
        yield
    finally:
        module.fail_json = original


class RepairError(Exception):
    def __init__(self, message: str, fsck_rc: int | None = None) -> None:
        super().__init__(message)
        self.fsck_rc = fsck_rc


def _tail(text: str | None, lines: int = 15) -> str:
    return "\n".join((text or "").strip().splitlines()[-lines:])


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """Ignore SIGHUP (a dropped SSH session), SIGTERM and SIGINT (a cancelled job) while a
    filesystem is unmounted: being killed there leaves it unmounted. The children (e2fsck, mount)
    inherit the ignored dispositions; e2fsck installs its own SIGINT/SIGTERM handler (cancel, rc 32)
    and is then mounted again like any other code but 4."""
    names = [signal.SIGHUP, signal.SIGTERM, signal.SIGINT]
    saved = {sig: signal.signal(sig, signal.SIG_IGN) for sig in names}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


class ExtFilesystems:
    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.params = module.params
        self.tune2fs = module.get_bin_path("tune2fs", required=True)
        self.pending_file = self.params["pending_file"]
        self.pending = {}

    def run(self, argv: list) -> tuple:
        return self.module.run_command(argv, environ_update=C_LOCALE)

    def gather(self, mounts: list | None = None, holders: bool = True) -> list:
        return gather_ext_filesystems(
            self.run,
            mounts=mounts if mounts is not None else self.params["mounts"],
            exclude=self.params["exclude"],
            tune2fs=self.tune2fs,
            holders=holders,
            pending_file=self.pending_file,
            fstab_path=self.params["fstab_path"],
        )

    def save_pending(self) -> None:
        try:
            write_pending(self.pending, self.pending_file)
        except OSError as exc:
            raise RepairError(f"cannot write the pending-remount record {self.pending_file}: {exc}") from exc

    def mount_again(self, fs: dict, options: str) -> tuple:
        """Mount ``fs`` with ``options``; every option mount names as refused is dropped (cumulatively)
        and it is tried again; when mount refuses without naming one: without each option in turn, then
        the mode only, then ``ro`` (``mount_attempts``).

        Returns ``(argv, options used, [(argv, error) of the attempts that failed])``; argv None when
        every attempt failed.
        """
        mount = self.module.get_bin_path("mount", required=True)
        failed, tried = [], []

        def attempt(opts: str) -> tuple:
            if opts in tried:
                return None, None
            tried.append(opts)
            argv = (
                [mount, "-t", fs["fstype"]]
                + (["-o", ",".join(opts)] if opts else [])
                + [fs["device"], fs["mountpoint"]]
            )
            rc, out, err = self.run(argv)
            if rc == 0:
                return argv, None
            error = " ".join((err or out).split())
            failed.append((argv, f"rc {rc}: {error}"))
            return None, error

        opts, refused, probed = [o for o in options.split(",") if o], [], False
        while True:
            argv, error = attempt(opts)
            if argv:
                return argv, opts, failed
            named = refused_option(error, opts)
            if named is None and not probed:
                # mount(2) names no option: ask the kernel about each one, without mounting (fsconfig)
                probed = True
                named = probe_refused(fs["fstype"], opts) or None
            if named is None:
                break
            named = named if isinstance(named, list) else [named]
            refused.extend(named)
            opts = [o for o in opts if o not in named]
        for fallback in mount_attempts(",".join(opts), refused)[1:]:
            argv, error = attempt(fallback)
            if argv:
                return argv, fallback, failed
        return None, None, failed

    def repair_one(self, fs: dict) -> dict:
        """(umount,) e2fsck -f -y, mount again. Raises RepairError saying exactly where things stand.

        The pending-remount record is written before the unmount and removed once it is mounted again.
        """
        umount = self.module.get_bin_path("umount", required=True)
        self.module.get_bin_path("e2fsck", required=True)  # found before anything is unmounted
        mp, device, fstype = fs["mountpoint"], fs["device"], fs["fstype"]
        options = fs.get("remount_options") or fs["options"]
        report = {"fsck_rc": None, "notes": []}
        with signals_ignored():
            if fs.get("pending_remount"):
                record = self.pending[mp]
            else:
                record = {
                    "device": device,
                    "fstype": fstype,
                    "options": fs["options"],
                    "remount_options": options,
                    "options_source": fs.get("options_source", ""),
                    "uuid": fs.get("uuid"),
                    "pid": os.getpid(),
                    "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                }
                self.pending[mp] = record
                self.save_pending()  # before the unmount: a kill after it leaves a trace
                rc, out, err = self.run([umount, mp])
                if rc != 0:
                    del self.pending[mp]
                    self.save_pending()
                    raise RepairError(
                        f"umount {mp} failed (rc {rc}): {(err or out).strip()}. Nothing was changed: {mp} is still "
                        f"mounted and {device} is still {fs['state_raw']!r}."
                    )
            try:
                with failures_raise(self.module):
                    self.check_and_mount(fs, options, record, report)
            except RepairError:
                raise
            except BaseException as exc:  # noqa: BLE001 - unmounted: whatever happened, mount it again first
                raise RepairError(self.recover(fs, options, exc)) from None
        return report

    def check_and_mount(self, fs: dict, options: str, record: dict, report: dict) -> None:
        """The unmounted part of a repair: e2fsck, then ``finish`` (mount again)."""
        e2fsck = self.module.get_bin_path("e2fsck", required=True)
        mp, device, fstype = fs["mountpoint"], fs["device"], fs["fstype"]
        if os.path.isdir(mp) and os.listdir(mp):
            report["notes"].append(
                f"{mp} (the directory below the mount) holds {len(os.listdir(mp))} entries written while "
                "it was unmounted; they are hidden by the mount, not deleted"
            )
        dev = (fs["major"], fs["minor"])
        busy = None
        still = [e["mountpoint"] for e in read_mountinfo() if (e["major"], e["minor"]) == dev]
        if still:
            busy = f"{device} is mounted at {', '.join(still)}"
        else:
            try:
                os.close(os.open(device, os.O_RDONLY | os.O_EXCL))
            except OSError as exc:
                busy = (
                    f"{device} is in use (mounted in another mount namespace or held open)"
                    if exc.errno == errno.EBUSY
                    else f"cannot open {device}: {exc}"
                )
        if busy:
            self.finish(fs, options, None, f"{busy}, so it was NOT checked", report)

        rc, out, err = self.run([e2fsck, "-f", "-y", device])
        report["fsck_rc"] = rc
        if rc > 0 and rc & 4:
            record["fsck_rc"] = rc
            unsaved = self.try_save()
            state = read_ext_state(self.run, device, tune2fs=self.tune2fs)
            now = state["state_raw"] or state["error"]
            mount = self.module.get_bin_path("mount", required=True)
            raise RepairError(
                f"e2fsck -f -y {device} could not correct every error (rc {rc}: {describe_rc(rc)}); {mp} was "
                f"left UNMOUNTED so nothing writes to a damaged filesystem. tune2fs says the state is now "
                f"{now!r}. Output:\n{_tail(out or err)}\nNext: look at the errors, run e2fsck -f {device} "
                f"again by hand (or restore from a backup); to read the data meanwhile, mount it read-only: "
                f"{shlex.join([mount, '-t', fstype, '-o', 'ro', device, mp])}. The next repair run checks it "
                f"again and mounts it when e2fsck succeeds.{unsaved}",
                fsck_rc=rc,
            )
        why = None
        if rc < 0 or rc >= 8:
            why = f"e2fsck -f -y {device} did not check it (rc {rc}: {describe_rc(rc)}): {_tail(err or out, 3)}"
        self.finish(fs, options, rc, why, report)

    def try_save(self) -> str:
        """``save_pending`` that never hides the message it belongs to: "" or a sentence to append to it."""
        try:
            self.save_pending()
        except RepairError as exc:
            return f" ALSO: {exc}, so the scan may not know about this."
        return ""

    def recover(self, fs: dict, options: str, exc: BaseException) -> str:
        """After an unexpected stop between unmount and mount (e2fsck could not be run, a bug): mount it
        again and say where things stand."""
        mp, device = fs["mountpoint"], fs["device"]
        what = str(exc) if isinstance(exc, ModuleFailure) else f"{type(exc).__name__}: {exc}"
        head = f"the repair of {mp} ({device}) stopped after it was unmounted: {what}"
        dev = (fs.get("major"), fs.get("minor"))
        if any(e["mountpoint"] == mp and (e["major"], e["minor"]) == dev for e in read_mountinfo()):
            self.pending.pop(mp, None)
            return f"{head}. It is mounted at {mp} again.{self.try_save()}"
        try:
            with failures_raise(self.module):
                argv, used, failed = self.mount_again(fs, options)
        except BaseException as again:  # noqa: BLE001 - reported, with where things stand
            argv, failed = None, [([], f"{type(again).__name__}: {again}")]
        if argv is None:
            record = self.pending.get(mp, {})
            record["mount_error"] = failed[0][1] if failed else "mount failed"
            tried = "; ".join(f"{shlex.join(a)} -> {e}" for a, e in failed)
            return (
                f"{head}. Mounting it again FAILED: {tried}. {mp} is NOT mounted: files written there land on the "
                f"filesystem below it; the next repair run mounts it again.{self.try_save()}"
            )
        self.pending.pop(mp, None)
        return f"{head}. It was NOT checked; it is mounted again with: {shlex.join(argv)}.{self.try_save()}"

    def finish(self, fs: dict, options: str, fsck_rc: int | None, why: str, report: dict) -> None:
        """Mount ``fs`` again (dropping options mount refuses, then read-only); drop its record once
        mounted. Raises RepairError when ``why`` (the check did not happen) or the mount is not as asked."""
        mp, device = fs["mountpoint"], fs["device"]
        argv, used, failed = self.mount_again(fs, options)
        tried = "; ".join(f"{shlex.join(a)} -> {e}" for a, e in failed)
        if argv is None:
            record = self.pending.get(mp, {})
            record["mount_error"] = failed[0][1] if failed else "mount failed"
            unsaved = self.try_save()
            raise RepairError(
                (f"{why}. " if why else f"e2fsck {device} finished (rc {fsck_rc}: {describe_rc(fsck_rc)}). ")
                + f"Mounting {device} again at {mp} FAILED with every option set, even read-only: {tried}. "
                f"{mp} is NOT mounted: files written there land on the filesystem below it. "
                f"Look at dmesg for {device}; no command that mounts it is known.{unsaved}",
                fsck_rc=fsck_rc,
            )
        self.pending.pop(mp, None)
        unsaved = self.try_save()
        if unsaved:  # mounted: the next run drops the stale record (stale_records)
            report["notes"].append(f"{mp} is mounted again.{unsaved}")
        asked = [o for o in options.split(",") if o]
        report["mounted_with"] = ",".join(used)
        dropped = [o for o in asked if o not in used]
        lost = lost_options(asked, used)
        if lost:  # mounted, but not as it was: read-only, or without nosuid/nodev/noexec - never a success
            raise RepairError(
                (f"{why}. " if why else "")
                + f"{device} is mounted again at {mp} WITHOUT {', '.join(lost)}: mount refused the options "
                f"{','.join(asked)} ({tried}). It is mounted with: {shlex.join(argv)}. Look at dmesg for {device}, "
                f"then restore them: {shlex.join([argv[0], '-o', 'remount,' + ','.join(lost), mp])}",
                fsck_rc=fsck_rc,
            )
        if dropped:
            report["notes"].append(
                f"mount refused {', '.join(dropped)} for {device}; mounted again at {mp} with: {shlex.join(argv)}"
            )
        if why:
            raise RepairError(f"{why}. {mp} is mounted again with: {shlex.join(argv)}", fsck_rc=fsck_rc)

    def facts(self, ext: list) -> dict:
        """The facts dict the scan's evaluator reads: ext, xfs/btrfs and the extension's mountstoskip."""
        others = gather_other_filesystems(
            self.run,
            mounts=self.params["mounts"],
            exclude=self.params["exclude"],
            xfs_info=self.module.get_bin_path("xfs_info") or "xfs_info",
            btrfs=self.module.get_bin_path("btrfs") or "btrfs",
        )
        return {"ext_filesystems": ext, "other_filesystems": others, "vmbackup_conf": self.conf}

    def stale_records(self, facts: list) -> list:
        """Recorded mount points that are mounted again from their device (by hand): records to drop."""
        listed = {fs["mountpoint"] for fs in facts if fs.get("pending_remount")}
        table = {e["mountpoint"]: e for e in read_mountinfo()}
        stale = []
        for mp, record in self.pending.items():
            entry = table.get(mp)
            if mp in listed or entry is None or not isinstance(record, dict):
                continue
            try:
                st = os.stat(record.get("device") or "")
            except OSError:
                continue
            if (os.major(st.st_rdev), os.minor(st.st_rdev)) == (entry["major"], entry["minor"]):
                stale.append(mp)
        return stale

    def main(self) -> None:
        module = self.module
        try:
            self.pending = read_pending(self.pending_file)
        except ValueError as exc:
            module.fail_json(msg=f"UserErrorFsFreezeFailed: {exc}. Nothing was changed.", changed=False)
        self.conf = read_conf_facts(self.params["vmbackup_conf"])
        skip = mountstoskip(self.conf)[0]
        before = self.gather()
        typos = [fs["mountpoint"] for fs in before if fs.get("not_mounted")]
        if typos:
            module.fail_json(
                msg=f"mounts: {', '.join(typos)}: not a mount point (nothing is mounted there; a typo, or a "
                "filesystem that is no longer mounted?). Nothing was changed.",
                changed=False,
                filesystems=[],
            )
        stale = self.stale_records(before)
        options = {"repair": self.params["repair"], "mounts": [], "exclude": []}
        finding = evaluate_extfs(self.facts(before), options)
        plan = {a["mountpoint"]: a for a in finding["actions"]}

        results = []
        for fs in before:
            unclean = state_is_unclean(fs) if fs.get("present", True) else None
            entry = {
                "mountpoint": fs["mountpoint"],
                "device": fs.get("device"),
                "fstype": fs.get("fstype"),
                "options": fs.get("options"),
                "state_before": fs.get("state"),
                "state_after": fs.get("state"),
                "holders": fs.get("holders") or [],
                "remount_options": fs.get("remount_options"),
                "fsck_rc": None,
                "reason": "",
            }
            if fs.get("pending_remount"):
                entry["remount_options"] = fs.get("remount_options")
                if plan.get(fs["mountpoint"], {}).get("allowed"):
                    entry.update(action="would_repair", reason=plan[fs["mountpoint"]]["reason"])
                    if module.check_mode:
                        entry["state_after"] = "clean"
                else:
                    entry.update(
                        action="refused",
                        reason=describe_pending(fs["pending_remount"])
                        + "; "
                        + plan.get(fs["mountpoint"], {}).get("reason", ""),
                    )
            elif not fs.get("present", True):
                entry.update(action="absent", reason=fs.get("error") or "")
            elif fs["mountpoint"] in skip and unclean is not False:
                entry.update(
                    action="skipped",
                    reason=f"listed in mountstoskip of {self.params['vmbackup_conf']}: "
                    "the extension does not freeze it",
                )
            elif unclean is None:
                entry.update(action="unknown", reason=fs.get("error") or "")
                module.warn(f"UserErrorFsFreezeFailed: {fs.get('error')}")
            elif not unclean:
                entry.update(action="none")
            elif plan.get(fs["mountpoint"], {}).get("allowed"):
                entry.update(action="would_repair", reason=plan[fs["mountpoint"]]["reason"])
                if module.check_mode:
                    entry["state_after"] = "clean"
            else:
                entry.update(action="refused", reason=plan.get(fs["mountpoint"], {}).get("reason", ""))
            results.append(entry)

        changed = any(e["action"] == "would_repair" for e in results)
        failure = None
        if not module.check_mode:
            for index, entry in enumerate(results):
                fs = before[index]
                if entry["action"] != "would_repair":
                    continue
                try:
                    report = self.repair_one(fs)
                except RepairError as exc:
                    entry.update(action="failed", reason=str(exc), fsck_rc=exc.fsck_rc)
                    failure = str(exc)
                    break
                entry.update(action="repaired", fsck_rc=report["fsck_rc"], mounted_with=report["mounted_with"])
                for note in report["notes"]:
                    module.warn(note)
            if stale:
                for mp in stale:
                    self.pending.pop(mp, None)
                try:
                    write_pending(self.pending, self.pending_file)
                except OSError as exc:
                    module.warn(f"cannot drop the stale records {stale} from {self.pending_file}: {exc}")
            changed = any(e["action"] in ("repaired", "failed") for e in results)
            for e in results:
                if e["action"] == "would_repair":
                    e["action"] = "not_attempted"
            after = self.gather(holders=True) if changed else before
            by_mp = {fs["mountpoint"]: fs for fs in after}
            for e in results:
                fs = by_mp.get(e["mountpoint"])
                if e["action"] in ("repaired", "failed"):
                    if fs is not None and fs.get("present", True):
                        e["state_after"] = fs.get("state")
                        if e["action"] == "repaired" and fs.get("options") != e["options"]:
                            module.warn(
                                f"{e['mountpoint']} was mounted again with options {fs.get('options')}, "
                                f"before: {e['options']}"
                            )
                    else:
                        dev_state = read_ext_state(self.run, e["device"], tune2fs=self.tune2fs)
                        e["state_after"] = dev_state["state"]
            finding_after = evaluate_extfs(self.facts(after), options)
        else:
            finding_after = finding

        result = {
            "changed": changed,
            "filesystems": results,
            "finding": finding,
            "finding_after": finding_after,
        }
        if module._diff:
            result["diff"] = {
                "before": {e["mountpoint"]: e["state_before"] for e in results if e["action"] != "absent"},
                "after": {e["mountpoint"]: e["state_after"] for e in results if e["action"] != "absent"},
            }
        if failure:
            module.fail_json(msg=f"UserErrorFsFreezeFailed: {failure}", **result)
        module.exit_json(**result)


def _validate(module: AnsibleModule) -> None:
    for name in ("mounts", "exclude"):
        for path in module.params[name]:
            if not isinstance(path, str) or not path.startswith("/"):
                module.fail_json(msg=f"{name}: {path!r} is not an absolute path (a mount point such as /data)")
            if "\x00" in path or "\n" in path:
                module.fail_json(msg=f"{name}: {path!r} contains a NUL or newline character")


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            mounts=dict(type="list", elements="path", default=[]),
            exclude=dict(type="list", elements="path", default=[]),
            repair=dict(type="bool", default=False),
            vmbackup_conf=dict(type="path", default="/etc/azure/vmbackup.conf"),
            pending_file=dict(type="path", default=PENDING_FILE),
            fstab_path=dict(type="path", default="/etc/fstab"),
        ),
        supports_check_mode=True,
    )
    _validate(module)
    ExtFilesystems(module).main()


if __name__ == "__main__":
    main()
