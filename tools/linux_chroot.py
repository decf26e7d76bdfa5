#!/usr/bin/env python3
"""Debian chroot test hosts: build once (debootstrap, cached), then a throw-away overlay per test.

Importable (tests, molecule) and a CLI:

    python tools/linux_chroot.py build [--profile secpolicy]
    python tools/linux_chroot.py up    --workdir DIR [--profile secpolicy]
    python tools/linux_chroot.py down  --workdir DIR

``build`` (``build_base()``) runs ``debootstrap --variant=minbase`` with the profile's packages into a
cache directory (``$VMBACKUP_CHROOT_CACHE`` or ``build/chroots/`` in the checkout), keyed by a hash of the
suite, mirror and package list, under a lock so parallel test workers build it once. ``secpolicy``
(SELinux policy + semanage, fapolicyd, AppArmor) takes about 70 s the first time; later it is reused.

``up`` (``up()``) mounts an overlay (the cached root read-only below, DIR/upper above) at DIR/root and
``proc`` at DIR/root/proc (setfiles needs /proc/self/fd), and writes DIR/chroot.json and
DIR/inventory.yml: one host ``chroot-testhost`` reached with the ``community.general.chroot``
connection. Every change a test makes lands in DIR/upper; ``down`` unmounts both (only mounts it
made: it checks the mount table) and deletes DIR's content. The cached root is never written.

A chroot shares the kernel and /proc of this machine: no SELinux, AppArmor or fapolicyd runs here, so a
mechanism counts as "active" in a chroot the way it does on a host configured for the next boot
(``/etc/selinux/config`` says enforcing or permissive; ``fapolicyd.service`` / ``apparmor.service``
enabled), which debootstrap's package setup already does. ``configure()`` changes those files.

Needs root (debootstrap, mount). ``tree_state(root, paths)`` records files (content hash, mode, owner,
SELinux label) to prove a check-mode run changed nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import sys
import time

import _testhost_common as host

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
C_ENV = dict(host.C_ENV, DEBIAN_FRONTEND="noninteractive")
BUILDER_VERSION = 1
SUITE = "bookworm"
HOST_NAME = "chroot-testhost"
STATE_FILE = "chroot.json"
INVENTORY_FILE = "inventory.yml"
PROFILES = {
    # UserErrorVmNotInDesirableState: every security mechanism's own tools.
    "secpolicy": [
        "python3",
        "policycoreutils",
        "policycoreutils-python-utils",
        "selinux-policy-default",
        "fapolicyd",
        "apparmor",
        "apparmor-utils",
    ],
}


class ChrootError(RuntimeError):
    pass


def _run(argv, check=True, **kw):
    return host.run(argv, ChrootError, check=check, tail=2000, env=C_ENV, **kw)


def _require_root():
    if os.geteuid() != 0:
        raise ChrootError("linux_chroot needs root (debootstrap, mount)")


def debian_mirror():
    """The Debian mirror this machine's apt uses (deb822 or one-line sources), else deb.debian.org."""
    candidates = ["/etc/apt/sources.list"]
    with contextlib.suppress(OSError):
        candidates += [
            os.path.join("/etc/apt/sources.list.d", n) for n in sorted(os.listdir("/etc/apt/sources.list.d"))
        ]
    for path in candidates:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError:
            continue
        for line in text.splitlines():
            words = line.split()
            if line.startswith("URIs:") and len(words) > 1 and words[1].rstrip("/").endswith("/debian"):
                return words[1]
            if len(words) > 2 and words[0] == "deb" and words[1].rstrip("/").endswith("/debian"):
                return words[1]
    return "http://deb.debian.org/debian"


def cache_dir():
    return os.environ.get("VMBACKUP_CHROOT_CACHE") or os.path.join(ROOT, "build", "chroots")


def base_key(profile):
    packages = PROFILES[profile]
    text = json.dumps([BUILDER_VERSION, SUITE, debian_mirror(), sorted(packages)])
    return f"{profile}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def build_base(profile="secpolicy", log=None):
    """The cached root for ``profile`` (built when missing). Returns its path."""
    _require_root()
    if profile not in PROFILES:
        raise ChrootError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    cache = cache_dir()
    os.makedirs(cache, exist_ok=True)
    key = base_key(profile)
    final = os.path.join(cache, key)
    with open(os.path.join(cache, f"{key}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.isfile(os.path.join(final, "ok")):
            return os.path.join(final, "root")
        tmp = final + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(final, ignore_errors=True)
        os.makedirs(tmp)
        started = time.monotonic()
        argv = [
            "debootstrap",
            "--variant=minbase",
            "--include=" + ",".join(PROFILES[profile]),
            SUITE,
            os.path.join(tmp, "root"),
            debian_mirror(),
        ]
        if not shutil.which("debootstrap"):
            raise ChrootError("debootstrap is not installed (apt-get install debootstrap)")
        _run(argv)
        # Smaller and reproducible: no downloaded .debs, no apt lists.
        for sub in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for entry in os.listdir(os.path.join(tmp, "root", sub)):
                path = os.path.join(tmp, "root", sub, entry)
                if os.path.isfile(path) and entry.endswith((".deb", "_Packages", "_Release", "_InRelease")):
                    os.remove(path)
        with open(os.path.join(tmp, "ok"), "w", encoding="utf-8") as handle:
            json.dump(
                {"profile": profile, "packages": PROFILES[profile], "seconds": time.monotonic() - started}, handle
            )
        os.rename(tmp, final)
        if log:
            log(f"built {final} in {time.monotonic() - started:.0f} s")
        return os.path.join(final, "root")


def up(workdir, profile="secpolicy"):
    """A fresh chroot test host in ``workdir`` (overlay on the cached root). Returns its state dict."""
    _require_root()
    workdir = os.path.abspath(workdir)
    base = build_base(profile)
    root = os.path.join(workdir, "root")
    state = {"workdir": workdir, "root": root, "base": base, "profile": profile, "mounts": []}
    try:
        host.mount_overlay(base, workdir, ChrootError)
        state["mounts"].append(root)
        _run(["mount", "-t", "proc", "proc", os.path.join(root, "proc")])
        state["mounts"].append(os.path.join(root, "proc"))
    except BaseException:
        down(workdir, state)
        raise
    host_vars = {
        "ansible_connection": "community.general.chroot",
        "ansible_host": root,
        "ansible_python_interpreter": "/usr/bin/python3",
    }
    state["inventory"] = os.path.join(workdir, INVENTORY_FILE)
    with open(state["inventory"], "w", encoding="utf-8") as handle:
        handle.write(host.inventory_yaml(HOST_NAME, host_vars))
    host.save_json(os.path.join(workdir, STATE_FILE), state)
    return state


def down(workdir, state=None):
    """Unmount what ``up`` mounted (only if still mounted there) and delete ``workdir``'s content."""
    workdir = os.path.abspath(workdir)
    if state is None:
        try:
            with open(os.path.join(workdir, STATE_FILE), encoding="utf-8") as handle:
                state = json.load(handle)
        except (OSError, ValueError):
            state = {"mounts": [os.path.join(workdir, "root"), os.path.join(workdir, "root", "proc")]}
    problems = host.unmount(sorted(state.get("mounts") or [], key=len, reverse=True), ChrootError)
    if problems:
        raise ChrootError(f"still mounted, not deleting {workdir}: {problems}")
    for sub in ("upper", "work", "root", STATE_FILE, INVENTORY_FILE):
        path = os.path.join(workdir, sub)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.remove(path)
    return problems


def host_path(root, path):
    return os.path.join(root, path.lstrip("/"))


def configure(root, selinux=None, fapolicyd=None, apparmor=None):
    """Make a mechanism active or not in a chroot the way a host configured for the next boot is.

    ``selinux``: ``enforcing`` / ``permissive`` / ``disabled`` (SELINUX= in /etc/selinux/config).
    ``fapolicyd`` / ``apparmor``: True enables the service (``*.wants`` link), False disables it.
    """
    if selinux is not None:
        path = host_path(root, "/etc/selinux/config")
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        lines = [f"SELINUX={selinux}" if line.startswith("SELINUX=") else line for line in lines]
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
    for unit, target, flag in (
        ("fapolicyd.service", "multi-user.target.wants", fapolicyd),
        ("apparmor.service", "sysinit.target.wants", apparmor),
    ):
        if flag is None:
            continue
        link = host_path(root, f"/etc/systemd/system/{target}/{unit}")
        if flag and not os.path.lexists(link):
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.symlink(f"/lib/systemd/system/{unit}", link)
        elif not flag and os.path.lexists(link):
            os.remove(link)


def tree_state(root, paths):
    """``{path: (type, mode, uid, gid, sha256 or link target, selinux label)}`` for files under ``paths``."""
    out = {}

    def note(path):
        st = os.lstat(path)
        try:
            label = os.getxattr(path, "security.selinux", follow_symlinks=False).decode()
        except OSError:
            label = None
        if os.path.islink(path):
            what = ("link", os.readlink(path))
        elif os.path.isfile(path):
            with open(path, "rb") as handle:
                what = ("file", hashlib.sha256(handle.read()).hexdigest())
        else:
            what = ("dir" if os.path.isdir(path) else "other", None)
        out[os.path.relpath(path, root)] = (what[0], st.st_mode, st.st_uid, st.st_gid, what[1], label)

    for rel in paths:
        top = host_path(root, rel)
        if not os.path.lexists(top):
            out[rel] = None
            continue
        note(top)
        for dirpath, dirnames, filenames in os.walk(top):
            for name in sorted(dirnames) + sorted(filenames):
                note(os.path.join(dirpath, name))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_build = sub.add_parser("build", help="build (or reuse) the cached root")
    p_build.add_argument("--profile", default="secpolicy", choices=sorted(PROFILES))
    p_up = sub.add_parser("up", help="a fresh overlay chroot in --workdir")
    p_up.add_argument("--workdir", required=True)
    p_up.add_argument("--profile", default="secpolicy", choices=sorted(PROFILES))
    p_down = sub.add_parser("down", help="unmount and delete the chroot in --workdir")
    p_down.add_argument("--workdir", required=True)
    args = parser.parse_args(argv)
    actions = {
        "build": lambda: build_base(args.profile, log=lambda m: print(m, file=sys.stderr)),
        "up": lambda: up(args.workdir, args.profile),
        "down": lambda: down(args.workdir),
    }
    return host.cli("linux_chroot", ChrootError, actions[args.cmd])


if __name__ == "__main__":
    sys.exit(main())
