# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ext2/3/4 state for UserErrorFsFreezeFailed: parsers, gather helpers and the evaluator.

Internal to the collection (leading underscore). Pure standard library so the remote modules
(``ext_filesystems``, ``linux_backup_facts``) and the controller-side scan share it.

* ``parse_mountinfo(text)`` / ``parse_tune2fs(text)`` -- pure parsers.
* ``find_holders(devnums)`` -- processes (and swap files, loop devices, other mount namespaces)
  that keep a filesystem busy, found by scanning ``/proc``.
* ``gather_ext_filesystems(run_command, mounts, exclude)`` -- the facts, one dict per mount point.
* ``evaluate_extfs(facts, options)`` -- the finding (docs/architecture.md, "Finding").
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable

from ansible_collections.vmbackup.azure.plugins.module_utils._findings import make_finding
from ansible_collections.vmbackup.azure.plugins.module_utils._linux_host import read_file
from ansible_collections.vmbackup.azure.plugins.module_utils._vmbackup_conf import configparser_errors, raw_settings

ERROR_CODE = "UserErrorFsFreezeFailed"
EXT_FSTYPES = ("ext2", "ext3", "ext4")
CLEAN = "clean"
# Shown by the kernel in the super options but refused when given to mount(8): ``seclabel`` (SELinux
# labelling support), ``emergency_ro`` (ext4 set read-only after an error; Linux fs/ext4/super.c,
# _ext4_show_options, "emergency_ro" since 6.15, commit f3054e53; measured here: mount -o ...,emergency_ro
# fails) and ``shutdown`` (an xfs the kernel shut down, e.g. after ``xfs_io -x -c "shutdown -f"``, is
# listed ``rw,shutdown`` by kernels that show it; measured here on a real xfs: mount -o rw,relatime,shutdown
# fails with rc 32; tests/integration/test_ext_faults.py).
KERNEL_STATE_FLAGS = frozenset(["seclabel", "emergency_ro", "shutdown"])
# Where ext_filesystems records a filesystem it unmounted and has not yet mounted again.
PENDING_FILE = "/var/lib/vmbackup-azure/ext_filesystems-pending.json"

_OCTAL = re.compile(r"\\([0-7]{3})")


def unescape_mount_path(text: str) -> str:
    """Decode the octal escapes (``\\040`` space, ``\\011`` tab, ``\\012`` newline, ``\\134``) of mountinfo."""
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), text)


def _split_options(text: str) -> list:
    return [opt for opt in text.split(",") if opt]


def merge_options(mount_options: list, super_options: list) -> list:
    """Per-mount options, then the superblock options not already there (order kept, no duplicates).

    ``rw``/``ro`` appear in both lists; the per-mount one wins. Options the kernel shows but mount(8)
    refuses (``seclabel``, ``emergency_ro``) are left out: the result is what ``mount -o`` accepts.
    """
    merged = []
    has_mode = False
    for opt in list(mount_options) + list(super_options):
        if opt in KERNEL_STATE_FLAGS or opt in merged:
            continue
        if opt in ("rw", "ro"):
            if has_mode:
                continue
            has_mode = True
        merged.append(opt)
    return merged


def parse_mountinfo(text: str) -> list:
    """Parse ``/proc/<pid>/mountinfo`` (proc(5)) into a list of dicts, in file order.

    Keys: ``mount_id``, ``parent_id``, ``major``, ``minor``, ``root``, ``mountpoint``,
    ``mount_options`` (list), ``optional`` (list), ``fstype``, ``source``, ``super_options`` (list),
    ``options`` (``merge_options`` of both, as a comma separated string).
    """
    entries = []
    for line in text.splitlines():
        fields = line.split(" ")
        if len(fields) < 10 or "-" not in fields[6:]:
            continue
        sep = fields.index("-", 6)
        if len(fields) < sep + 3:
            continue
        major, minor = fields[2].partition(":")[::2]
        try:
            major, minor = int(major), int(minor)
            mount_id, parent_id = int(fields[0]), int(fields[1])
        except ValueError:
            continue
        mount_options = _split_options(fields[5])
        super_options = _split_options(fields[sep + 3]) if len(fields) > sep + 3 else []
        entries.append(
            {
                "mount_id": mount_id,
                "parent_id": parent_id,
                "major": major,
                "minor": minor,
                "root": unescape_mount_path(fields[3]),
                "mountpoint": unescape_mount_path(fields[4]),
                "mount_options": mount_options,
                "optional": fields[6:sep],
                "fstype": fields[sep + 1],
                "source": unescape_mount_path(fields[sep + 2]),
                "super_options": super_options,
                "options": ",".join(merge_options(mount_options, super_options)),
            }
        )
    return entries


def parse_fstab(text: str) -> list:
    """``/etc/fstab`` (fstab(5)) -> list of ``{spec, file, vfstype, mntops}`` (octal escapes decoded)."""
    entries = []
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) < 2 or fields[0].startswith("#"):
            continue
        entries.append(
            {
                "spec": unescape_mount_path(fields[0]),
                "file": normalize_mountpoint(unescape_mount_path(fields[1])),
                "vfstype": fields[2] if len(fields) > 2 else "auto",
                "mntops": fields[3] if len(fields) > 3 else "defaults",
            }
        )
    return entries


# Per-mount options that restrict what the filesystem allows: a remount that loses one is never a
# silent success (review finding 4), nor is losing the mode ``rw``/``ro`` the filesystem was mounted with.
RESTRICTING = ("nosuid", "nodev", "noexec")


def fstab_spec_is(spec: str, major: int, minor: int, uuid: str | None = None, dev_dir: str = "/dev") -> bool:
    """Whether the fstab(5) ``spec`` (``UUID=``, ``LABEL=``, ``PARTUUID=``, ``PARTLABEL=``, a device path)
    names the block device ``major:minor`` (``uuid``: its filesystem UUID from tune2fs, for ``UUID=``
    when udev made no /dev/disk/by-uuid link)."""
    links = {"UUID": "by-uuid", "LABEL": "by-label", "PARTUUID": "by-partuuid", "PARTLABEL": "by-partlabel"}
    tag, sep, value = spec.partition("=")
    if sep and tag.upper() in links:
        if tag.upper() == "UUID" and uuid and value.strip('"').lower() == uuid.lower():
            return True
        return _rdev(os.path.join(dev_dir, "disk", links[tag.upper()], value.strip('"'))) == (major, minor)
    return spec.startswith("/") and _rdev(spec) == (major, minor)


def remount_options(entry: dict, fstab_text: str, uuid: str | None = None) -> tuple:
    """``(options, source)`` to mount ``entry`` (a parse_mountinfo dict) again with.

    The options the administrator wrote in /etc/fstab for that mount point when the line names the
    device mounted there (``source`` ``/etc/fstab``), else the options of the mount table without the
    kernel's state flags (``source`` ``mount table``): never ``emergency_ro`` or ``seclabel``,
    which mount(8) refuses. Either way the mode it is mounted with now (``rw``/``ro`` of
    the per-mount options, which an ext4 error does not change) comes first and the restricting
    per-mount options in force now (``nosuid``, ``nodev``, ``noexec``) are kept; ``defaults`` is left
    out (it would turn ``ro`` back into ``rw``; the rest of it is what mount does anyway).
    """
    mountpoint = normalize_mountpoint(entry["mountpoint"])
    lines = [
        e
        for e in parse_fstab(fstab_text)
        if e["file"] == mountpoint and fstab_spec_is(e["spec"], entry["major"], entry["minor"], uuid)
    ]
    if lines:
        base, source = _split_options(lines[-1]["mntops"]), "/etc/fstab"
    else:
        base, source = merge_options(entry["mount_options"], entry["super_options"]), "mount table"
    mode = ([o for o in entry["mount_options"] if o in ("rw", "ro")] or ["rw"])[:1]
    out = list(mode)
    for opt in base + [o for o in entry["mount_options"] if o in RESTRICTING]:
        if opt in ("rw", "ro", "defaults") or opt in KERNEL_STATE_FLAGS or opt in out:
            continue
        out.append(opt)
    return ",".join(out), source


_QUOTED = re.compile(r"""['"`]([^'"`\s]+)['"`]""")


def refused_option(error_text: str, options: list) -> str | None:
    """The option of ``options`` that mount(8)'s error names as refused, or None.

    util-linux with the new mount API relays the kernel's message, e.g. ``fsconfig system call failed:
    ext4: Unknown parameter 'bogus'`` (one option per attempt); the kernel log form is ``Unrecognized
    mount option "bogus"``. An ``opt=value`` option matches its name or the whole. Never the mode.
    """
    named = _QUOTED.findall(error_text or "")
    for word in named:
        for opt in options:
            if opt not in ("rw", "ro") and word in (opt, opt.split("=", 1)[0]):
                return opt
    return None


# Options that are not the filesystem's own: per-mount flags (libmount's Linux VFS map), options of
# mount(8) itself and LSM options. fsconfig(2) refuses them although mount(8) accepts them, so
# ``probe_refused`` never asks about them.
NOT_FS_OPTIONS = frozenset(
    [
        "rw",
        "ro",
        "suid",
        "nosuid",
        "dev",
        "nodev",
        "exec",
        "noexec",
        "sync",
        "async",
        "dirsync",
        "mand",
        "nomand",
        "atime",
        "noatime",
        "diratime",
        "nodiratime",
        "relatime",
        "norelatime",
        "strictatime",
        "nostrictatime",
        "lazytime",
        "nolazytime",
        "iversion",
        "noiversion",
        "nosymfollow",
        "silent",
        "loud",
        "defaults",
        "auto",
        "noauto",
        "user",
        "nouser",
        "users",
        "owner",
        "noowner",
        "group",
        "nogroup",
        "nofail",
        "_netdev",
        "loop",
        "seclabel",
    ]
)
NOT_FS_PREFIXES = ("x-", "comment=", "helper=", "offset=", "sizelimit=", "context=", "fscontext=", "defcontext=")
NOT_FS_PREFIXES += ("rootcontext=", "encryption=")


def probe_refused(fstype: str, options: list) -> list:
    """The options of ``options`` the kernel's ``fstype`` driver refuses, asked without mounting anything:
    fsopen(2) + fsconfig(2) (Linux >= 5.2; syscall numbers 430/431 are the same on every architecture but
    alpha), as util-linux >= 2.39 does before it mounts. None when that cannot be asked (older kernel, no
    privilege). For util-linux 2.38, whose mount(2) error names no option ("bad option")."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
    except (OSError, AttributeError):
        return None
    fd = libc.syscall(430, fstype.encode(), 1)  # fsopen(fstype, FSOPEN_CLOEXEC)
    if fd < 0:
        return None
    refused = []
    try:
        for opt in options:
            if opt in NOT_FS_OPTIONS or opt.startswith(NOT_FS_PREFIXES):
                continue
            key, sep, value = opt.partition("=")
            # fsconfig(fd, FSCONFIG_SET_STRING (1) / FSCONFIG_SET_FLAG (0), key, value, 0)
            rc = libc.syscall(431, fd, 1 if sep else 0, key.encode(), value.encode() if sep else None, 0)
            if rc < 0:
                refused.append(opt)
    finally:
        os.close(fd)
    return refused


def mount_attempts(options: str, refused: list | tuple = ()) -> list:
    """The option lists to try, in order, once mount(8) refused ``options`` without naming an option
    (``refused``: the options it named, already dropped; util-linux 2.38 with mount(2) says only "bad
    option"): without each option in turn (last first: the superblock options come last), then the mode
    with ``nosuid``/``nodev``/``noexec`` only (two or more refused options: those are kept), then the
    mode only, then ``ro``. No duplicates; the first item is ``options`` itself."""
    opts = [o for o in (options or "").split(",") if o and o not in refused]
    mode = [o for o in opts if o in ("rw", "ro")][:1]
    rest = [o for o in opts if o not in ("rw", "ro")]
    tries = [opts]
    for index in range(len(rest) - 1, -1, -1):
        tries.append(mode + rest[:index] + rest[index + 1 :])
    tries.append(mode + [o for o in rest if o in RESTRICTING])
    tries.append(mode)
    tries.append(["ro"])
    out = []
    for t in tries:
        if t not in out:
            out.append(t)
    return out


def lost_options(asked: list, used: list) -> list:
    """The options of ``asked`` that matter for safety and are not in ``used``: the mode and ``nosuid``,
    ``nodev``, ``noexec`` (``ro`` asked and mounted ``rw``, or the reverse, counts)."""
    asked = [o for o in asked if o]
    lost = [o for o in asked if o in RESTRICTING + ("ro",) and o not in used]
    if "rw" in asked and "ro" in used:
        lost.append("rw")
    return lost


# ---------------------------------------------------------------------------------------------
# The pending-remount record: written before a repair unmounts, removed once it is mounted again.


def read_pending(path: str = PENDING_FILE) -> dict:
    """``{mountpoint: record}`` of the filesystems a repair unmounted and did not mount again.

    A missing file is ``{}``; a file that cannot be read or parsed raises ValueError naming it
    (the caller reports it: a lost record must not look like "nothing pending").
    """
    import json

    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the pending-remount record {path}: {exc}") from exc
    pending = data.get("pending") if isinstance(data, dict) else None
    if not isinstance(pending, dict):
        raise ValueError(f"the pending-remount record {path} has no 'pending' mapping")
    return pending


def write_pending(pending: dict, path: str = PENDING_FILE) -> None:
    """Write (atomically, fsync'd) or remove the record. The directory is created 0700."""
    import json
    import tempfile

    if not pending:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".pending-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"pending": pending}, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def describe_pending(record: dict) -> str:
    """Why a pending filesystem is unmounted, for the finding and the module."""
    if record.get("fsck_rc") is not None and record["fsck_rc"] & 4:
        why = f"left unmounted because e2fsck could not correct every error (rc {record['fsck_rc']})"
    else:
        why = "unmounted by an interrupted repair"
    started = record.get("started")
    return f"{why} (pid {record.get('pid')}, {started})" if started else why


def normalize_state(value: str) -> str:
    """``Filesystem state`` value of tune2fs, lower case, single spaces (``clean``, ``not clean with errors``)."""
    return " ".join((value or "").split()).lower()


def parse_tune2fs(text: str) -> dict:
    """Parse ``tune2fs -l`` (run with ``LANG=C``) into ``{state, state_raw, features, journal, fields}``.

    ``state`` is None when the output has no ``Filesystem state:`` line.
    """
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep or not key.strip() or key.startswith(" "):
            continue
        fields.setdefault(key.strip(), value.strip())
    raw = fields.get("Filesystem state")
    features = (fields.get("Filesystem features") or "").split()
    return {
        "state": normalize_state(raw) if raw is not None else None,
        "state_raw": raw if raw is not None else "",
        "features": features,
        "journal": "has_journal" in features,
        "fields": fields,
    }


def state_is_unclean(fs: dict) -> bool | None:
    """True when the filesystem needs the fix, False when not, None when its state is unknown.

    Without a journal the kernel marks the superblock ``not clean`` for as long as the filesystem is
    mounted read-write (and restores it on unmount): then only ``with errors`` means something.
    """
    state = fs.get("state")
    if not state:
        return None
    if "errors" in state:
        return True
    if state == CLEAN:
        return False
    # "not clean" counts unless it is the normal mark of a journal-less read-write mount
    return bool(fs.get("journal", True) or fs.get("read_only", False))


# ---------------------------------------------------------------------------------------------
# /proc and /sys scans (read only)


def read_mountinfo(path: str = "/proc/self/mountinfo") -> list:
    return parse_mountinfo(read_file(path, ""))


def _devnum(st: os.stat_result) -> tuple:
    return (os.major(st.st_dev), os.minor(st.st_dev))


def _proc_pids(proc: str) -> list:
    try:
        names = os.listdir(proc)
    except OSError:
        return []
    return sorted(int(n) for n in names if n.isdigit())


def _holder(found: dict, pid: int, comm: str, use: str) -> None:
    entry = found.setdefault(pid, {"pid": pid, "comm": comm, "uses": []})
    if use not in entry["uses"]:
        entry["uses"].append(use)


def find_holders(
    devnums: set, proc: str = "/proc", sys_block: str = "/sys/block", exclude_pids: set | list | None = None
) -> dict:
    """Who keeps the filesystems ``devnums`` (set of ``(major, minor)``) busy.

    Scans every ``/proc/<pid>/{cwd,root,exe,fd/*,maps}`` (compared by ``st_dev``, so it sees
    through other mount namespaces and chroots), the mount tables of other mount namespaces,
    swap files and loop devices backed by a file on the filesystem.

    Returns ``{(major, minor): [{pid, comm, uses: [...]}, ...]}`` (``pid`` None for swap/loop).
    """
    devnums = set(devnums)
    result = {dev: {} for dev in devnums}
    if not devnums:
        return {}
    exclude = set(exclude_pids or ()) | {os.getpid()}
    try:
        own_ns = os.readlink(os.path.join(proc, "self", "ns", "mnt"))
    except OSError:
        own_ns = None
    seen_ns = set()
    for pid in _proc_pids(proc):
        if pid in exclude:
            continue
        base = os.path.join(proc, str(pid))
        comm = read_file(os.path.join(base, "comm"), "").strip()
        for link in ("cwd", "root", "exe"):
            try:
                dev = _devnum(os.stat(os.path.join(base, link)))
            except OSError:
                continue
            if dev in devnums:
                _holder(result[dev], pid, comm, link)
        fd_dir = os.path.join(base, "fd")
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            fds = []
        for fd in fds:
            try:
                st = os.stat(os.path.join(fd_dir, fd))
            except OSError:
                continue
            dev = _devnum(st)
            if dev in devnums:
                _holder(result[dev], pid, comm, "open file")
            elif st.st_rdev and (os.major(st.st_rdev), os.minor(st.st_rdev)) in devnums:
                _holder(result[(os.major(st.st_rdev), os.minor(st.st_rdev))], pid, comm, "opens the device")
        for line in read_file(os.path.join(base, "maps"), "").splitlines():
            parts = line.split(None, 5)
            if len(parts) < 5 or parts[4] == "0":
                continue
            try:
                major, minor = (int(x, 16) for x in parts[3].split(":"))
            except ValueError:
                continue
            if (major, minor) in devnums:
                _holder(result[(major, minor)], pid, comm, "mapped file")
        try:
            ns = os.readlink(os.path.join(base, "ns", "mnt"))
        except OSError:
            ns = None
        if ns and own_ns and ns != own_ns and ns not in seen_ns:
            seen_ns.add(ns)
            for entry in parse_mountinfo(read_file(os.path.join(base, "mountinfo"), "")):
                dev = (entry["major"], entry["minor"])
                if dev in devnums:
                    _holder(result[dev], pid, comm, "mounted in its mount namespace at " + entry["mountpoint"])
    for line in read_file(os.path.join(proc, "swaps"), "").splitlines()[1:]:
        name = line.split()[0] if line.split() else ""
        try:
            dev = _devnum(os.stat(name))
        except OSError:
            continue
        if dev in devnums:
            _holder(result[dev], "swap:" + name, "swap", "swap file " + name)
    try:
        loops = [n for n in os.listdir(sys_block) if n.startswith("loop")]
    except OSError:
        loops = []
    for name in loops:
        backing = read_file(os.path.join(sys_block, name, "loop", "backing_file"), "").strip()
        if not backing:
            continue
        try:
            dev = _devnum(os.stat(backing))
        except OSError:
            continue
        if dev in devnums:
            _holder(result[dev], "loop:" + name, name, "backing file " + backing)
    out = {}
    for dev, found in result.items():
        holders = []
        for entry in found.values():
            if isinstance(entry["pid"], str):
                entry = dict(entry, pid=None)
            holders.append(entry)
        out[dev] = holders
    return out


def resolve_device(source: str, major: int, minor: int, dev_dir: str = "/dev", sys_dev: str = "/sys/dev/block") -> str:
    """The block device node for ``major:minor`` (mountinfo may say ``/dev/root``)."""
    try:
        st = os.stat(source)
        if (os.major(st.st_rdev), os.minor(st.st_rdev)) == (major, minor) and st.st_rdev:
            return source
    except OSError:
        pass
    uevent = read_file(os.path.join(sys_dev, f"{major}:{minor}", "uevent"), "")
    for line in uevent.splitlines():
        if line.startswith("DEVNAME="):
            candidate = os.path.join(dev_dir, line.split("=", 1)[1])
            if os.path.exists(candidate):
                return candidate
    candidate = os.path.join(dev_dir, "block", f"{major}:{minor}")
    if os.path.exists(candidate):
        return os.path.realpath(candidate)
    return source


def loop_autoclear(device: str, sys_block: str = "/sys/block") -> bool:
    name = os.path.basename(device)
    if not name.startswith("loop"):
        return False
    return read_file(os.path.join(sys_block, name, "loop", "autoclear"), "").strip() == "1"


def normalize_mountpoint(path: str) -> str:
    path = os.path.normpath(path)
    return "/" + path.lstrip("/") if path.startswith("//") else path


def _under(path: str, top: str) -> bool:
    return top == "/" or path == top or path.startswith(top.rstrip("/") + "/")


def read_ext_state(run_command: Callable, device: str, tune2fs: str = "tune2fs") -> dict:
    """``{state, state_raw, journal, error}`` of one device from ``tune2fs -l`` (never raises)."""
    try:
        rc, out, err = run_command([tune2fs, "-l", device])
    except Exception as exc:  # the caller reports it as the filesystem's error
        return {"state": None, "state_raw": "", "journal": None, "error": f"{tune2fs} -l {device}: {exc}"}
    if rc != 0:
        msg = " ".join((err or out or "").split()) or f"rc {rc}"
        return {
            "state": None,
            "state_raw": "",
            "journal": None,
            "error": f"{tune2fs} -l {device} failed (rc {rc}): {msg}",
        }
    parsed = parse_tune2fs(out)
    uuid = parsed["fields"].get("Filesystem UUID")
    if parsed["state"] is None:
        return {
            "state": None,
            "state_raw": "",
            "journal": parsed["journal"],
            "uuid": uuid,
            "error": f"{tune2fs} -l {device} printed no 'Filesystem state' line",
        }
    return {
        "state": parsed["state"],
        "state_raw": parsed["state_raw"],
        "journal": parsed["journal"],
        "uuid": uuid,
        "error": None,
    }


def gather_ext_filesystems(
    run_command: Callable,
    mounts: list | None = None,
    exclude: list | None = None,
    tune2fs: str = "tune2fs",
    mountinfo_path: str = "/proc/self/mountinfo",
    proc: str = "/proc",
    sys_block: str = "/sys/block",
    holders: bool = True,
    fstab_path: str = "/etc/fstab",
    pending_file: str | None = PENDING_FILE,
) -> list:
    """Facts about the mounted ext2/3/4 filesystems: all of them, or the mount points ``mounts``.

    ``run_command(argv) -> (rc, stdout, stderr)`` must run with ``LANG=C LC_ALL=C``.
    One dict per mount point, keys of the contract (``mountpoint``, ``device``, ``fstype``,
    ``options``, ``state``, ``state_raw``, ``is_root``) plus what the evaluator needs to decide
    whether the fix may touch it: ``present``, ``error``, ``journal``, ``read_only``, ``major``,
    ``minor``, ``mount_root``, ``submounts``, ``also_mounted_at``, ``root_device``,
    ``loop_autoclear``, ``holders`` (only for unclean filesystems). A requested mount point that is
    not a mounted ext filesystem is listed with ``present: false`` and ``error`` saying so
    (``not_mounted: true`` when nothing is mounted there at all).

    ``remount_options`` / ``options_source``: what a repair mounts it again with (``remount_options``).
    A filesystem recorded in ``pending_file`` (a repair unmounted it and did not mount it again) is
    listed with ``present: false`` and ``pending_remount`` (the record), whatever ``mounts`` says,
    unless excluded; an unreadable record is listed with ``record_error``.
    """
    table = read_mountinfo(mountinfo_path)
    fstab_text = read_file(fstab_path, "") if fstab_path else ""
    # The visible mount at a path is the last one mounted there.
    visible = {}
    for entry in table:
        visible[entry["mountpoint"]] = entry
    root = visible.get("/")
    root_dev = (root["major"], root["minor"]) if root else None
    excluded = {normalize_mountpoint(p) for p in (exclude or [])}

    selected = []
    seen = set()
    if mounts:
        for requested in mounts:
            path = normalize_mountpoint(requested)
            entry = visible.get(path)
            if entry is None and os.path.exists(path):
                real = os.path.realpath(path)
                entry = visible.get(real)
                path = real if entry is not None else path
            if path in excluded or path in seen:
                continue
            seen.add(path)
            if entry is None or entry["fstype"] not in EXT_FSTYPES:
                what = "not a mount point" if entry is None else f"a {entry['fstype']} filesystem"
                selected.append(
                    {
                        "mountpoint": path,
                        "device": entry["source"] if entry else None,
                        "fstype": entry["fstype"] if entry else None,
                        "options": entry["options"] if entry else "",
                        "state": None,
                        "state_raw": "",
                        "is_root": path == "/",
                        "present": False,
                        "not_mounted": entry is None,
                        "error": f"{path} is not a mounted ext2/ext3/ext4 filesystem ({what})",
                    }
                )
                continue
            selected.append({"_entry": entry})
    else:
        for path, entry in visible.items():
            if entry["fstype"] in EXT_FSTYPES and path not in excluded:
                selected.append({"_entry": entry})

    states = {}
    facts = []
    for item in selected:
        entry = item.pop("_entry", None)
        if entry is None:
            facts.append(item)
            continue
        dev = (entry["major"], entry["minor"])
        device = resolve_device(entry["source"], *dev)
        if dev not in states:
            states[dev] = read_ext_state(run_command, device, tune2fs=tune2fs)
        state = states[dev]
        mp = entry["mountpoint"]
        mount_opts = entry["mount_options"]
        again, source = remount_options(entry, fstab_text, state.get("uuid"))
        facts.append(
            {
                "mountpoint": mp,
                "device": device,
                "fstype": entry["fstype"],
                "options": entry["options"],
                "remount_options": again,
                "options_source": source,
                "uuid": state.get("uuid"),
                "state": state["state"],
                "state_raw": state["state_raw"],
                "is_root": mp == "/",
                "present": True,
                "error": state["error"],
                "journal": state["journal"],
                "read_only": "ro" in mount_opts or "ro" in entry["super_options"],
                "major": dev[0],
                "minor": dev[1],
                "mount_root": entry["root"],
                "root_device": dev == root_dev,
                "submounts": sorted(
                    {e["mountpoint"] for e in table if e["mountpoint"] != mp and _under(e["mountpoint"], mp)}
                ),
                "also_mounted_at": sorted(
                    {e["mountpoint"] for e in table if (e["major"], e["minor"]) == dev and e["mountpoint"] != mp}
                ),
                "loop_autoclear": loop_autoclear(device, sys_block=sys_block),
                "holders": [],
                "holds_pending_file": pending_file if _holder_of(pending_file, visible) == mp else None,
            }
        )
    facts = _pending_facts(run_command, facts, table, visible, excluded, tune2fs, pending_file)
    if holders:
        busy = {(fs["major"], fs["minor"]) for fs in facts if fs.get("present") and state_is_unclean(fs)}
        if busy:
            found = find_holders(busy, proc=proc, sys_block=sys_block)
            for fs in facts:
                if fs.get("present") and (fs["major"], fs["minor"]) in found:
                    fs["holders"] = found[(fs["major"], fs["minor"])]
    return facts


def _holder_of(path: str | None, visible: dict) -> str | None:
    """The mount point (of ``visible``, path -> entry) whose filesystem holds ``path`` (the longest match)."""
    best = None
    for mp in visible if path else ():
        if _under(path, mp) and (best is None or len(mp) > len(best)):
            best = mp
    return best


def _rdev(path: str) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (os.major(st.st_rdev), os.minor(st.st_rdev)) if st.st_rdev else None


def _pending_facts(
    run_command: Callable,
    facts: list,
    table: list,
    visible: dict,
    excluded: set,
    tune2fs: str,
    pending_file: str | None,
) -> list:
    """``facts`` plus one entry per filesystem still recorded as unmounted by a repair."""
    if not pending_file:
        return facts
    try:
        pending = read_pending(pending_file)
    except ValueError as exc:
        return facts + [
            {
                "mountpoint": pending_file,
                "device": None,
                "fstype": None,
                "options": "",
                "state": None,
                "state_raw": "",
                "is_root": False,
                "present": False,
                "record_error": str(exc),
                "error": str(exc),
            }
        ]
    for mp, record in sorted(pending.items()):
        if not isinstance(record, dict) or mp in excluded:
            continue
        device = record.get("device")
        dev = _rdev(device) if device else None
        entry = visible.get(mp)
        if entry is not None and dev == (entry["major"], entry["minor"]):
            continue  # mounted again (by hand): the record is stale, the module drops it
        state = read_ext_state(run_command, device, tune2fs=tune2fs) if dev else None
        if state is None:
            state = {"state": None, "state_raw": "", "journal": None, "uuid": None}
            state["error"] = f"device {device} of {mp} does not exist (any more)"
        facts = [f for f in facts if not (f["mountpoint"] == mp and f.get("not_mounted"))]
        facts.append(
            {
                "mountpoint": mp,
                "device": device,
                "fstype": record.get("fstype"),
                "options": record.get("options", ""),
                "remount_options": record.get("remount_options", ""),
                "options_source": record.get("options_source", ""),
                "state": state["state"],
                "state_raw": state["state_raw"],
                "journal": state["journal"],
                "uuid": state.get("uuid"),
                "is_root": mp == "/",
                "present": False,
                "error": state.get("error"),
                "pending_remount": record,
                "major": dev[0] if dev else None,
                "minor": dev[1] if dev else None,
                "mounted_over": f"{entry['source']} ({entry['fstype']})" if entry is not None else None,
                "device_mounted_at": sorted(
                    {e["mountpoint"] for e in table if dev and (e["major"], e["minor"]) == dev}
                ),
                "holders": [],
            }
        )
    return facts


# ---------------------------------------------------------------------------------------------
# xfs and btrfs: health read while mounted, read only (report only: their repair needs an unmount)
#
# What is safe on a mounted filesystem (and what is not):
# * xfs: ``xfs_repair -n`` needs the filesystem unmounted (it refuses a mounted device) and
#   ``xfs_db`` reads a superblock the kernel may be rewriting. Safe signals: a forced shutdown
#   (after a metadata corruption or I/O error the kernel shuts the filesystem down and every
#   directory read returns EIO until it is unmounted: ``os.listdir(mountpoint)``), and
#   ``xfs_info <mountpoint>`` (geometry through an ioctl; fails the same way once shut down).
# * btrfs: ``btrfs device stats <mountpoint>`` (the persistent per-device error counters:
#   write/read/flush I/O, corruption = checksum, generation errors) and ``btrfs scrub status``
#   (the last scrub's error summary) only read; a scrub itself is not started.
# A filesystem the backup extension does not freeze (``mountstoskip`` in /etc/azure/vmbackup.conf)
# is not a finding.

OTHER_FSTYPES = ("xfs", "btrfs")
_BTRFS_STAT = re.compile(r"^\[(?P<dev>[^\]]+)\]\.(?P<name>\w+)\s+(?P<value>-?\d+)\s*$")


def parse_btrfs_device_stats(text: str) -> dict:
    """``btrfs device stats`` output -> ``{device: {counter: int}}`` (lines ``[/dev/sdc].read_io_errs 0``)."""
    out = {}
    for line in (text or "").splitlines():
        match = _BTRFS_STAT.match(line.strip())
        if match:
            out.setdefault(match.group("dev"), {})[match.group("name")] = int(match.group("value"))
    return out


def parse_btrfs_scrub_status(text: str) -> dict:
    """``btrfs scrub status`` (C locale) -> ``{ran, status, errors_found, summary}``."""
    fields = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and not key.startswith((" ", "\t")):
            fields.setdefault(key.strip().lower(), value.strip())
    summary = fields.get("error summary")
    return {
        "ran": "scrub started" in fields,
        "status": fields.get("status"),
        "summary": summary,
        "errors_found": bool(summary) and summary.lower() != "no errors found",
    }


def read_xfs_health(run_command: Callable, mountpoint: str, xfs_info: str = "xfs_info") -> dict:
    """``{health, detail}`` of a mounted xfs: ``shutdown`` (directory reads fail with EIO), ``ok`` or ``unknown``."""
    try:
        os.listdir(mountpoint)
    except OSError as exc:
        if exc.errno == 5:  # EIO: the kernel shut the filesystem down
            return {"health": "shutdown", "detail": "the kernel shut it down (reading its root directory: EIO)"}
        return {"health": "unknown", "detail": f"cannot read {mountpoint}: {exc.strerror or exc}"}
    try:
        rc, out, err = run_command([xfs_info, mountpoint])
    except Exception as exc:  # a missing xfs_info is reported, not raised
        return {"health": "ok", "detail": f"directory readable; xfs_info not run: {exc}"}
    if rc != 0:
        msg = " ".join((err or out or "").split())
        if "input/output error" in msg.lower():
            return {"health": "shutdown", "detail": f"xfs_info: {msg}"}
        return {"health": "unknown", "detail": f"xfs_info {mountpoint} failed (rc {rc}): {msg}"}
    return {"health": "ok", "detail": "readable, xfs_info answers"}


def read_btrfs_health(run_command: Callable, mountpoint: str, btrfs: str = "btrfs") -> dict:
    """``{health, detail, device_stats, scrub}`` of a mounted btrfs from its error counters and last scrub."""
    try:
        rc, out, err = run_command([btrfs, "device", "stats", mountpoint])
    except Exception as exc:
        return {"health": "unknown", "detail": f"btrfs device stats {mountpoint}: {exc}"}
    stats = parse_btrfs_device_stats(out)
    if not stats:
        msg = " ".join((err or out or "").split())
        return {"health": "unknown", "detail": f"btrfs device stats {mountpoint} failed (rc {rc}): {msg}"}
    bad = {dev: {k: v for k, v in counters.items() if v} for dev, counters in stats.items() if any(counters.values())}
    scrub = {"ran": False, "status": None, "summary": None, "errors_found": False}
    try:
        rc2, out2, dummy = run_command([btrfs, "scrub", "status", mountpoint])
        if rc2 == 0:
            scrub = parse_btrfs_scrub_status(out2)
    except Exception:  # the scrub status is extra information only
        pass
    parts = []
    for dev, counters in bad.items():
        parts.append(f"{dev}: " + ", ".join(f"{k}={v}" for k, v in sorted(counters.items())))
    if scrub["errors_found"]:
        parts.append(f"last scrub: {scrub['summary']}")
    if parts:
        return {"health": "errors", "detail": "; ".join(parts), "device_stats": stats, "scrub": scrub}
    return {"health": "ok", "detail": "no device errors", "device_stats": stats, "scrub": scrub}


def gather_other_filesystems(
    run_command: Callable,
    mounts: list | None = None,
    exclude: list | None = None,
    mountinfo_path: str = "/proc/self/mountinfo",
    xfs_info: str = "xfs_info",
    btrfs: str = "btrfs",
) -> list:
    """Health of the mounted xfs and btrfs filesystems (all, or those at ``mounts``), one dict per mount point.

    Keys: ``mountpoint``, ``device``, ``fstype``, ``options``, ``health`` (``ok``, ``errors``,
    ``shutdown``, ``unknown``), ``detail``. A device mounted at several places is read once.
    """
    table = read_mountinfo(mountinfo_path)
    visible = {}
    for entry in table:
        visible[entry["mountpoint"]] = entry
    wanted = {normalize_mountpoint(p) for p in (mounts or [])}
    excluded = {normalize_mountpoint(p) for p in (exclude or [])}
    seen = {}
    out = []
    for path, entry in visible.items():
        if entry["fstype"] not in OTHER_FSTYPES or path in excluded or (wanted and path not in wanted):
            continue
        key = (entry["major"], entry["minor"], entry["fstype"])
        if key not in seen:
            if entry["fstype"] == "xfs":
                seen[key] = read_xfs_health(run_command, path, xfs_info=xfs_info)
            else:
                seen[key] = read_btrfs_health(run_command, path, btrfs=btrfs)
        out.append(
            dict(
                seen[key],
                mountpoint=path,
                device=entry["source"],
                fstype=entry["fstype"],
                options=entry["options"],
            )
        )
    return out


def mountstoskip(conf_facts: dict | None) -> tuple:
    """``(mount points, note)`` the backup extension does not freeze, from the gathered vmbackup.conf facts.

    The extension reads ``[SnapshotThread] mountstoskip`` only when the whole file parses (it
    swallows parse errors); then nothing is skipped, and ``note`` says why.
    """
    if not isinstance(conf_facts, dict) or not conf_facts.get("content"):
        return [], ""
    text = conf_facts["content"]
    errors = configparser_errors(text)
    try:
        value = raw_settings(text).get("SnapshotThread", {}).get("mountstoskip", "")
    except Exception:  # configparser.Error: the extension ignores the file
        return [], f"{conf_facts.get('path')} does not parse, so the extension skips no mount: {errors[0]}"
    if any(e.startswith("[SnapshotThread] mountstoskip") for e in errors):
        return [], f"mountstoskip in {conf_facts.get('path')} is unreadable for the extension"
    # compared as the extension compares them: exact mount points, comma-separated
    return [m for m in value.split(",") if m], ""


# ---------------------------------------------------------------------------------------------
# The evaluator


def describe_holders(holders: list, limit: int = 5) -> str:
    parts = []
    for h in holders[:limit]:
        who = f"pid {h['pid']} ({h['comm']})" if h.get("pid") is not None else h.get("comm", "?")
        parts.append(f"{who} {', '.join(h.get('uses') or [])}".strip())
    if len(holders) > limit:
        parts.append(f"{len(holders) - limit} more")
    return "; ".join(parts)


def refusal_reasons(fs: dict, repair: bool) -> list:
    """Why the fix must not unmount ``fs`` (empty list: it may). Order: most fundamental first."""
    reasons = []
    if fs.get("is_root"):
        reasons.append("'/' is never unmounted (check it at the next boot, e.g. kernel parameter fsck.mode=force)")
    elif fs.get("root_device"):
        reasons.append("it is the device of '/'")
    if fs.get("mount_root", "/") != "/":
        reasons.append(f"it is a bind mount of {fs['mount_root']!r}, not the whole filesystem")
    if fs.get("also_mounted_at"):
        reasons.append("the device is also mounted at " + ", ".join(fs["also_mounted_at"]))
    if fs.get("submounts"):
        reasons.append("other filesystems are mounted below it: " + ", ".join(fs["submounts"][:5]))
    if fs.get("holds_pending_file"):
        reasons.append(
            f"it holds the pending-remount record {fs['holds_pending_file']}: while it is unmounted that record "
            "could not be kept, so an interrupted repair would go unnoticed; set pending_file (and the scan's "
            "ext_pending_file) to a path on another filesystem, or check it from a rescue system"
        )
    if fs.get("loop_autoclear"):
        reasons.append("its loop device detaches on unmount (mounted with -o loop); fsck the image file by hand")
    if fs.get("holders"):
        reasons.append("busy: " + describe_holders(fs["holders"]))
    if not reasons and not repair:
        reasons.append("repair not opted in (repair: true unmounts it, runs fsck -y and mounts it again)")
    return reasons


def pending_refusals(fs: dict, repair: bool) -> list:
    """Why the fix must not check and mount again a filesystem a repair left unmounted."""
    record = fs.get("pending_remount") or {}
    reasons = []
    if fs.get("error"):
        reasons.append(fs["error"])
    if record.get("uuid") and fs.get("uuid") and record["uuid"] != fs["uuid"]:
        reasons.append(
            f"{fs.get('device')} now holds another filesystem (UUID {fs['uuid']}, recorded {record['uuid']})"
        )
    if fs.get("mounted_over"):
        reasons.append(f"{fs['mounted_over']} is mounted at {fs['mountpoint']} now")
    if fs.get("device_mounted_at"):
        reasons.append("the device is mounted at " + ", ".join(fs["device_mounted_at"]))
    if not reasons and not repair:
        reasons.append("repair not opted in (repair: true checks it with e2fsck -f -y and mounts it again)")
    return reasons


def _select(filesystems: list, options: dict) -> list:
    mounts = {normalize_mountpoint(p) for p in (options.get("mounts") or [])}
    exclude = {normalize_mountpoint(p) for p in (options.get("exclude") or [])}
    out = []
    for fs in filesystems:
        mp = fs.get("mountpoint")
        if mp in exclude or (mounts and mp not in mounts and not fs.get("pending_remount")):
            continue
        out.append(fs)
    return out


def _label(fs: dict) -> str:
    return f"{fs['mountpoint']} ({fs.get('device')}, {fs.get('fstype')})"


_HEALTH_KNOWN = ("ok", "errors", "shutdown")
_OFFLINE_REPAIR = {
    "xfs": "unmount it and run xfs_repair on the device in a maintenance window (xfs_repair -n first to see what it"
    " would change), then mount it again; a shut-down xfs stays unusable until it is unmounted",
    "btrfs": "find the failing device (btrfs device stats), run btrfs scrub start on the mount point (online, reads"
    " everything) and restore files it cannot correct; reset the counters with btrfs device stats -z once fixed",
}


def _unhealthy(fs: dict) -> bool:
    if fs.get("fstype") in OTHER_FSTYPES:
        return fs.get("health") != "ok"
    return bool(state_is_unclean(fs)) or state_is_unclean(fs) is None


def evaluate_extfs(facts: dict | list, options: dict | None = None) -> dict:
    """The UserErrorFsFreezeFailed finding for one host.

    ``facts``: ``ansible_facts.vmbackup_linux`` (a dict with ``ext_filesystems``) or the list itself.
    ``options``: ``repair`` (bool, default False), ``mounts`` / ``exclude`` (mount points),
    ``mountstoskip`` (mount points the extension does not freeze; default: read from the gathered
    ``vmbackup_conf``). xfs/btrfs filesystems (``other_filesystems``) that were shut down or have
    errors fail too, with a report-only ``repair_offline`` action.
    Status: ``error`` when a state could not be read, a named mount point has nothing mounted, or the
    pending-remount record is unreadable; else ``fail`` when a filesystem is not clean or was left
    unmounted by a repair (``pending_remount``); ``not_applicable`` when no ext filesystem is mounted,
    else ``pass``.
    Actions: one ``{action: fsck_remount, mountpoint, device, allowed, reason, disruptive}`` per
    unclean filesystem; ``allowed`` only with ``repair`` and when nothing refuses it.
    """
    options = options or {}
    repair = bool(options.get("repair", False))
    filesystems = facts.get("ext_filesystems", []) if isinstance(facts, dict) else list(facts or [])
    filesystems = _select(filesystems, options)
    others = _select(facts.get("other_filesystems") or [] if isinstance(facts, dict) else [], options)
    if options.get("mountstoskip") is not None:
        skip, skip_note = list(options["mountstoskip"]), ""
    else:
        skip, skip_note = mountstoskip(facts.get("vmbackup_conf") if isinstance(facts, dict) else None)

    present = [fs for fs in filesystems if fs.get("present", True)]
    pending = [fs for fs in filesystems if fs.get("pending_remount")]
    record_errors = [fs for fs in filesystems if fs.get("record_error")]
    missing = [
        fs
        for fs in filesystems
        if not fs.get("present", True) and not fs.get("pending_remount") and not fs.get("record_error")
    ]
    # a mount point the user named where nothing is mounted: a typo or a lost mount, never "not applicable"
    missing_named = [fs for fs in missing if fs.get("not_mounted")]
    errors = [fs for fs in present if state_is_unclean(fs) is None and fs["mountpoint"] not in skip]
    unclean = [fs for fs in present if state_is_unclean(fs) and fs["mountpoint"] not in skip]
    skipped = [fs for fs in present + others if fs["mountpoint"] in skip and _unhealthy(fs)]
    bad_others = [fs for fs in others if fs["mountpoint"] not in skip and fs.get("health") in ("errors", "shutdown")]
    unknown_others = [fs for fs in others if fs["mountpoint"] not in skip and fs.get("health") not in _HEALTH_KNOWN]
    unjournaled = [
        fs
        for fs in present
        if fs.get("state") and fs["state"] != CLEAN and state_is_unclean(fs) is False and "errors" not in fs["state"]
    ]

    actions = []
    fix_parts = []
    detail_parts = []

    def plan(fs: dict, reasons: list, steps: str, refused: str) -> None:
        actions.append(
            {
                "action": "fsck_remount",
                "mountpoint": fs["mountpoint"],
                "device": fs.get("device"),
                "allowed": not reasons,
                "disruptive": True,
                "reason": "; ".join(reasons) if reasons else steps,
            }
        )
        fix_parts.append(f"{refused}: " + "; ".join(reasons) if reasons else steps)

    for fs in unclean:
        again = fs.get("remount_options") or fs.get("options")
        state = f"{fs.get('state_raw') or fs.get('state')!r}"
        detail_parts.append(f"{_label(fs)} is {state}")
        plan(
            fs,
            refusal_reasons(fs, repair),
            f"state {state}: umount {fs['mountpoint']}, fsck -y {fs.get('device')}, mount it again with -o {again}",
            f"would not touch {fs['mountpoint']}",
        )
    for fs in pending:
        again = fs.get("remount_options") or fs.get("options")
        detail_parts.append(
            f"{_label(fs)} was {describe_pending(fs['pending_remount'])} and is not mounted: "
            f"files written to {fs['mountpoint']} now land on the filesystem below it"
        )
        plan(
            fs,
            pending_refusals(fs, repair),
            f"e2fsck -f -y {fs.get('device')}, mount it again at {fs['mountpoint']} with -o {again}",
            f"would not mount {fs['mountpoint']} again",
        )
    for fs in record_errors:
        detail_parts.append(fs["record_error"])
    for fs in bad_others:
        what = "was shut down by the kernel" if fs.get("health") == "shutdown" else "has errors"
        detail_parts.append(f"{_label(fs)} {what}: {fs.get('detail')}")
        actions.append(
            {
                "action": "repair_offline",
                "mountpoint": fs["mountpoint"],
                "device": fs.get("device"),
                "allowed": False,
                "disruptive": True,
                "reason": "report only: " + _OFFLINE_REPAIR[fs.get("fstype")],
            }
        )
        fix_parts.append(f"{fs['mountpoint']}: " + _OFFLINE_REPAIR[fs.get("fstype")])
    for fs in errors:
        detail_parts.append(f"state of {_label(fs)} unknown: {fs.get('error') or 'no state'}")
    for fs in unknown_others:
        detail_parts.append(f"health of {_label(fs)} unknown: {fs.get('detail') or 'not read'}")
    for fs in skipped:
        detail_parts.append(
            f"{_label(fs)} is not healthy but listed in mountstoskip of /etc/azure/vmbackup.conf: "
            "the extension does not freeze it, so it does not cause this error"
        )
    if skip_note:
        detail_parts.append(skip_note)
    for fs in missing_named:
        detail_parts.append(f"{fs['mountpoint']} was named in mounts but nothing is mounted there")
    for fs in missing:
        if fs.get("not_mounted"):
            continue
        detail_parts.append(fs.get("error") or f"{fs.get('mountpoint')} is not a mounted ext2/ext3/ext4 filesystem")
    for fs in unjournaled:
        detail_parts.append(
            f"{_label(fs)} has no journal and is mounted read-write: its on-disk state says "
            f"{fs.get('state_raw')!r} while mounted, which is normal"
        )

    if errors or unknown_others or record_errors or missing_named:
        status = "error"
    elif unclean or bad_others or pending:
        status = "fail"
    elif not present and not others:
        status = "not_applicable"
    else:
        status = "pass"

    if status == "pass":
        detail = f"{len(present)} ext filesystem(s) clean: " + ", ".join(fs["mountpoint"] for fs in present)
        if others:
            detail += f"; {len(others)} xfs/btrfs filesystem(s) healthy: " + ", ".join(
                fs["mountpoint"] for fs in others if fs["mountpoint"] not in skip
            )
        if detail_parts:
            detail += "; " + "; ".join(detail_parts)
    elif status == "not_applicable":
        detail = "no ext2/ext3/ext4 filesystem mounted"
        if detail_parts:
            detail += ": " + "; ".join(detail_parts)
    else:
        detail = "; ".join(detail_parts)

    return make_finding(ERROR_CODE, status, detail, "; ".join(fix_parts), actions)
