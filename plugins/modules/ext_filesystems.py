#!/usr/bin/python
# Copyright: (c) 2025, vmbackup.azure maintainers
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
  - Everything is read before anything is changed. If C(e2fsck) cannot correct the errors (exit
    code 4 or more) the filesystem is left unmounted and the task fails saying so. If mounting it
    again fails, the task fails with the exact C(mount) command to run. Later filesystems are
    then left alone.
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
      - A mount point that is not a mounted ext filesystem is reported (C(action=absent)), not an error.
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
attributes:
  check_mode:
    support: full
    description: Reads everything and reports what would change; unmounts and checks nothing.
  diff_mode:
    support: full
    description: The state of each filesystem before and after.
  platform:
    support: full
    platforms: posix
    description: Linux guests (ext2/ext3/ext4, e2fsprogs, util-linux).
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
          touched, see RV(filesystems[].reason)), V(unknown) (state unreadable), V(absent) (not a mounted
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
      description: Exit code of C(e2fsck) when it ran.
      type: int
      sample: 1
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

import errno
import os
import shlex

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vmbackup.azure.plugins.module_utils._extfs import (
    C_LOCALE,
    evaluate_extfs,
    gather_ext_filesystems,
    gather_other_filesystems,
    mountstoskip,
    read_ext_state,
    read_mountinfo,
    state_is_unclean,
)
from ansible_collections.vmbackup.azure.plugins.module_utils._vmbackup_conf import read_conf_facts


class RepairError(Exception):
    pass


def _tail(text, lines=15):
    return "\n".join((text or "").strip().splitlines()[-lines:])


class ExtFilesystems:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.tune2fs = module.get_bin_path("tune2fs", required=True)

    def run(self, argv):
        return self.module.run_command(argv, environ_update=C_LOCALE)

    def gather(self, mounts=None, holders=True):
        return gather_ext_filesystems(
            self.run,
            mounts=mounts if mounts is not None else self.params["mounts"],
            exclude=self.params["exclude"],
            tune2fs=self.tune2fs,
            holders=holders,
        )

    def repair_one(self, fs):
        """umount, e2fsck -f -y, mount again. Raises RepairError saying exactly where things stand."""
        umount = self.module.get_bin_path("umount", required=True)
        mount = self.module.get_bin_path("mount", required=True)
        e2fsck = self.module.get_bin_path("e2fsck", required=True)
        mp, device, fstype, options = fs["mountpoint"], fs["device"], fs["fstype"], fs["options"]
        dev = (fs["major"], fs["minor"])
        mount_cmd = [mount, "-t", fstype, "-o", options, device, mp]
        mount_line = shlex.join(mount_cmd)
        report = {"fsck_rc": None}

        rc, out, err = self.run([umount, mp])
        if rc != 0:
            raise RepairError(
                f"umount {mp} failed (rc {rc}): {(err or out).strip()}. Nothing was changed: {mp} is still "
                f"mounted and {device} is still {fs['state_raw']!r}."
            )

        def remount_and_fail(why):
            rc2, out2, err2 = self.run(mount_cmd)
            if rc2 != 0:
                raise RepairError(
                    f"{why}. {device} was NOT checked and mounting it again failed (rc {rc2}): "
                    f"{(err2 or out2).strip()}. {mp} is not mounted; mount it with: {mount_line}"
                )
            raise RepairError(f"{why}. {device} was NOT checked; it is mounted again at {mp} with -o {options}.")

        still = [e["mountpoint"] for e in read_mountinfo() if (e["major"], e["minor"]) == dev]
        if still:
            remount_and_fail(f"after umount {mp}, {device} is still mounted at {', '.join(still)}")
        try:
            fd = os.open(device, os.O_RDONLY | os.O_EXCL)
            os.close(fd)
        except OSError as exc:
            if exc.errno == errno.EBUSY:
                remount_and_fail(
                    f"after umount {mp}, {device} is still in use (mounted in another mount namespace or held open)"
                )
            remount_and_fail(f"cannot open {device}: {exc}")

        rc, out, err = self.run([e2fsck, "-f", "-y", device])
        report["fsck_rc"] = rc
        if rc >= 4:
            state = read_ext_state(self.run, device, tune2fs=self.tune2fs)
            now = state["state_raw"] or state["error"]
            raise RepairError(
                f"e2fsck -f -y {device} could not correct every error (rc {rc}); {mp} was left UNMOUNTED "
                f"so nothing writes to a damaged filesystem. tune2fs says the state is now {now!r}. "
                f"Output:\n{_tail(out or err)}\nNext: look at the errors, run e2fsck -f {device} again by hand "
                f"(or restore from a backup); to read the data meanwhile, mount it read-only: "
                f"{shlex.join([mount, '-t', fstype, '-o', 'ro', device, mp])}; once it is clean: {mount_line}"
            )
        rc, out, err = self.run(mount_cmd)
        if rc != 0:
            raise RepairError(
                f"e2fsck {device} finished (rc {report['fsck_rc']}) but mounting it again failed (rc {rc}): "
                f"{(err or out).strip()}. {mp} is NOT mounted. Device {device}, type {fstype}, options "
                f"{options}. Mount it with: {mount_line}"
            )
        return report

    def facts(self, ext):
        """The facts dict the scan's evaluator reads: ext, xfs/btrfs and the extension's mountstoskip."""
        others = gather_other_filesystems(
            self.run,
            mounts=self.params["mounts"],
            exclude=self.params["exclude"],
            xfs_info=self.module.get_bin_path("xfs_info") or "xfs_info",
            btrfs=self.module.get_bin_path("btrfs") or "btrfs",
        )
        return {"ext_filesystems": ext, "other_filesystems": others, "vmbackup_conf": self.conf}

    def main(self):
        module = self.module
        self.conf = read_conf_facts(self.params["vmbackup_conf"])
        skip = mountstoskip(self.conf)[0]
        before = self.gather()
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
                "fsck_rc": None,
                "reason": "",
            }
            if not fs.get("present", True):
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
                    entry.update(action="failed", reason=str(exc))
                    failure = str(exc)
                    break
                entry.update(action="repaired", fsck_rc=report["fsck_rc"])
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


def _validate(module):
    for name in ("mounts", "exclude"):
        for path in module.params[name]:
            if not isinstance(path, str) or not path.startswith("/"):
                module.fail_json(msg=f"{name}: {path!r} is not an absolute path (a mount point such as /data)")
            if "\x00" in path or "\n" in path:
                module.fail_json(msg=f"{name}: {path!r} contains a NUL or newline character")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            mounts=dict(type="list", elements="path", default=[]),
            exclude=dict(type="list", elements="path", default=[]),
            repair=dict(type="bool", default=False),
            vmbackup_conf=dict(type="path", default="/etc/azure/vmbackup.conf"),
        ),
        supports_check_mode=True,
    )
    _validate(module)
    ExtFilesystems(module).main()


if __name__ == "__main__":
    main()
