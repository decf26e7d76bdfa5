# Copyright: (c) 2025, vmbackup.azure maintainers
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

import os
import re

ERROR_CODE = "UserErrorFsFreezeFailed"
EXT_FSTYPES = ("ext2", "ext3", "ext4")
CLEAN = "clean"
# Environment for every command whose output is parsed.
C_LOCALE = {"LANG": "C", "LC_ALL": "C", "LANGUAGE": "C"}
# Shown by the kernel in the super options but refused when given to mount(8).
_NOT_MOUNT_OPTIONS = frozenset(["seclabel"])

_OCTAL = re.compile(r"\\([0-7]{3})")


def unescape_mount_path(text):
    """Decode the octal escapes (``\\040`` space, ``\\011`` tab, ``\\012`` newline, ``\\134``) of mountinfo."""
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), text)


def _split_options(text):
    return [opt for opt in text.split(",") if opt]


def merge_options(mount_options, super_options):
    """Per-mount options, then the superblock options not already there (order kept, no duplicates).

    ``rw``/``ro`` appear in both lists; the per-mount one wins. Options the kernel shows but mount(8)
    refuses (``seclabel``) are left out: the result is what ``mount -o`` accepts.
    """
    merged = []
    has_mode = False
    for opt in list(mount_options) + list(super_options):
        if opt in _NOT_MOUNT_OPTIONS or opt in merged:
            continue
        if opt in ("rw", "ro"):
            if has_mode:
                continue
            has_mode = True
        merged.append(opt)
    return merged


def parse_mountinfo(text):
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


def normalize_state(value):
    """``Filesystem state`` value of tune2fs, lower case, single spaces (``clean``, ``not clean with errors``)."""
    return " ".join((value or "").split()).lower()


def parse_tune2fs(text):
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


def state_is_unclean(fs):
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


def _read(path, default=""):
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return default


def read_mountinfo(path="/proc/self/mountinfo"):
    return parse_mountinfo(_read(path))


def _devnum(st):
    return (os.major(st.st_dev), os.minor(st.st_dev))


def _proc_pids(proc):
    try:
        names = os.listdir(proc)
    except OSError:
        return []
    return sorted(int(n) for n in names if n.isdigit())


def _holder(found, pid, comm, use):
    entry = found.setdefault(pid, {"pid": pid, "comm": comm, "uses": []})
    if use not in entry["uses"]:
        entry["uses"].append(use)


def find_holders(devnums, proc="/proc", sys_block="/sys/block", exclude_pids=None):
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
        comm = _read(os.path.join(base, "comm")).strip()
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
        for line in _read(os.path.join(base, "maps")).splitlines():
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
            for entry in parse_mountinfo(_read(os.path.join(base, "mountinfo"))):
                dev = (entry["major"], entry["minor"])
                if dev in devnums:
                    _holder(result[dev], pid, comm, "mounted in its mount namespace at " + entry["mountpoint"])
    for line in _read(os.path.join(proc, "swaps")).splitlines()[1:]:
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
        backing = _read(os.path.join(sys_block, name, "loop", "backing_file")).strip()
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


def resolve_device(source, major, minor, dev_dir="/dev", sys_dev="/sys/dev/block"):
    """The block device node for ``major:minor`` (mountinfo may say ``/dev/root``)."""
    try:
        st = os.stat(source)
        if (os.major(st.st_rdev), os.minor(st.st_rdev)) == (major, minor) and st.st_rdev:
            return source
    except OSError:
        pass
    uevent = _read(os.path.join(sys_dev, f"{major}:{minor}", "uevent"))
    for line in uevent.splitlines():
        if line.startswith("DEVNAME="):
            candidate = os.path.join(dev_dir, line.split("=", 1)[1])
            if os.path.exists(candidate):
                return candidate
    candidate = os.path.join(dev_dir, "block", f"{major}:{minor}")
    if os.path.exists(candidate):
        return os.path.realpath(candidate)
    return source


def loop_autoclear(device, sys_block="/sys/block"):
    name = os.path.basename(device)
    if not name.startswith("loop"):
        return False
    return _read(os.path.join(sys_block, name, "loop", "autoclear")).strip() == "1"


def normalize_mountpoint(path):
    path = os.path.normpath(path)
    return "/" + path.lstrip("/") if path.startswith("//") else path


def _under(path, top):
    return top == "/" or path == top or path.startswith(top.rstrip("/") + "/")


def read_ext_state(run_command, device, tune2fs="tune2fs"):
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
    if parsed["state"] is None:
        return {
            "state": None,
            "state_raw": "",
            "journal": parsed["journal"],
            "error": f"{tune2fs} -l {device} printed no 'Filesystem state' line",
        }
    return {"state": parsed["state"], "state_raw": parsed["state_raw"], "journal": parsed["journal"], "error": None}


def gather_ext_filesystems(
    run_command,
    mounts=None,
    exclude=None,
    tune2fs="tune2fs",
    mountinfo_path="/proc/self/mountinfo",
    proc="/proc",
    sys_block="/sys/block",
    holders=True,
):
    """Facts about the mounted ext2/3/4 filesystems: all of them, or the mount points ``mounts``.

    ``run_command(argv) -> (rc, stdout, stderr)`` must run with ``LANG=C LC_ALL=C``.
    One dict per mount point, keys of the contract (``mountpoint``, ``device``, ``fstype``,
    ``options``, ``state``, ``state_raw``, ``is_root``) plus what the evaluator needs to decide
    whether the fix may touch it: ``present``, ``error``, ``journal``, ``read_only``, ``major``,
    ``minor``, ``mount_root``, ``submounts``, ``also_mounted_at``, ``root_device``,
    ``loop_autoclear``, ``holders`` (only for unclean filesystems). A requested mount point that is
    not a mounted ext filesystem is listed with ``present: false`` and ``error`` saying so.
    """
    table = read_mountinfo(mountinfo_path)
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
        facts.append(
            {
                "mountpoint": mp,
                "device": device,
                "fstype": entry["fstype"],
                "options": entry["options"],
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
            }
        )
    if holders:
        busy = {(fs["major"], fs["minor"]) for fs in facts if fs.get("present") and state_is_unclean(fs)}
        if busy:
            found = find_holders(busy, proc=proc, sys_block=sys_block)
            for fs in facts:
                if fs.get("present") and (fs["major"], fs["minor"]) in found:
                    fs["holders"] = found[(fs["major"], fs["minor"])]
    return facts


# ---------------------------------------------------------------------------------------------
# The evaluator


def describe_holders(holders, limit=5):
    parts = []
    for h in holders[:limit]:
        who = f"pid {h['pid']} ({h['comm']})" if h.get("pid") is not None else h.get("comm", "?")
        parts.append(f"{who} {', '.join(h.get('uses') or [])}".strip())
    if len(holders) > limit:
        parts.append(f"{len(holders) - limit} more")
    return "; ".join(parts)


def refusal_reasons(fs, repair):
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
    if fs.get("loop_autoclear"):
        reasons.append("its loop device detaches on unmount (mounted with -o loop); fsck the image file by hand")
    if fs.get("holders"):
        reasons.append("busy: " + describe_holders(fs["holders"]))
    if not reasons and not repair:
        reasons.append("repair not opted in (repair: true unmounts it, runs fsck -y and mounts it again)")
    return reasons


def _select(filesystems, options):
    mounts = {normalize_mountpoint(p) for p in (options.get("mounts") or [])}
    exclude = {normalize_mountpoint(p) for p in (options.get("exclude") or [])}
    out = []
    for fs in filesystems:
        mp = fs.get("mountpoint")
        if mp in exclude or (mounts and mp not in mounts):
            continue
        out.append(fs)
    return out


def _label(fs):
    return f"{fs['mountpoint']} ({fs.get('device')}, {fs.get('fstype')})"


def evaluate_extfs(facts, options=None):
    """The UserErrorFsFreezeFailed finding for one host.

    ``facts``: ``ansible_facts.vmbackup_linux`` (a dict with ``ext_filesystems``) or the list itself.
    ``options``: ``repair`` (bool, default False), ``mounts`` / ``exclude`` (mount points).
    Status: ``error`` when a state could not be read, else ``fail`` when a filesystem is not clean,
    ``not_applicable`` when no ext filesystem is mounted, else ``pass``.
    Actions: one ``{action: fsck_remount, mountpoint, device, allowed, reason, disruptive}`` per
    unclean filesystem; ``allowed`` only with ``repair`` and when nothing refuses it.
    """
    options = options or {}
    repair = bool(options.get("repair", False))
    filesystems = facts.get("ext_filesystems", []) if isinstance(facts, dict) else list(facts or [])
    filesystems = _select(filesystems, options)

    present = [fs for fs in filesystems if fs.get("present", True)]
    missing = [fs for fs in filesystems if not fs.get("present", True)]
    errors = [fs for fs in present if state_is_unclean(fs) is None]
    unclean = [fs for fs in present if state_is_unclean(fs)]
    unjournaled = [
        fs
        for fs in present
        if fs.get("state") and fs["state"] != CLEAN and state_is_unclean(fs) is False and "errors" not in fs["state"]
    ]

    actions = []
    fix_parts = []
    detail_parts = []
    for fs in unclean:
        reasons = refusal_reasons(fs, repair)
        allowed = not reasons
        what = f"state {fs.get('state_raw') or fs.get('state')!r}"
        actions.append(
            {
                "action": "fsck_remount",
                "mountpoint": fs["mountpoint"],
                "device": fs.get("device"),
                "allowed": allowed,
                "disruptive": True,
                "reason": "; ".join(reasons) if reasons else f"{what}: umount, fsck -y, mount with {fs.get('options')}",
            }
        )
        detail_parts.append(f"{_label(fs)} is {fs.get('state_raw') or fs.get('state')!r}")
        if allowed:
            fix_parts.append(
                f"umount {fs['mountpoint']}, fsck -y {fs.get('device')}, mount it again with -o {fs.get('options')}"
            )
        else:
            fix_parts.append(f"would not touch {fs['mountpoint']}: " + "; ".join(reasons))
    for fs in errors:
        detail_parts.append(f"state of {_label(fs)} unknown: {fs.get('error') or 'no state'}")
    for fs in missing:
        detail_parts.append(fs.get("error") or f"{fs.get('mountpoint')} is not a mounted ext2/ext3/ext4 filesystem")
    for fs in unjournaled:
        detail_parts.append(
            f"{_label(fs)} has no journal and is mounted read-write: its on-disk state says "
            f"{fs.get('state_raw')!r} while mounted, which is normal"
        )

    if errors:
        status = "error"
    elif unclean:
        status = "fail"
    elif not present:
        status = "not_applicable"
    else:
        status = "pass"

    if status == "pass":
        detail = f"{len(present)} ext filesystem(s) clean: " + ", ".join(fs["mountpoint"] for fs in present)
        if detail_parts:
            detail += "; " + "; ".join(detail_parts)
    elif status == "not_applicable":
        detail = "no ext2/ext3/ext4 filesystem mounted"
        if detail_parts:
            detail += ": " + "; ".join(detail_parts)
    else:
        detail = "; ".join(detail_parts)

    return {
        "error_code": ERROR_CODE,
        "status": status,
        "detail": detail,
        "fix": "; ".join(fix_parts),
        "actions": actions,
    }
