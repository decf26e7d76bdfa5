#!/usr/bin/env python3
"""Debian chroot test hosts: a cached debootstrap root filesystem, one overlay per host.

Importable (tests, molecule) and a CLI:

    python tools/linux_rootfs.py base                 # build (or reuse) the cached base rootfs
    python tools/linux_rootfs.py up   --workdir DIR   # an overlay chroot host + DIR/inventory.yml
    python tools/linux_rootfs.py down --workdir DIR

The base (``debootstrap --variant=minbase --include=python3,systemd,systemd-sysv,dbus bookworm``,
~60 s, ~300 MB) is built once under ``$VMBACKUP_ROOTFS_CACHE`` (default
``/var/tmp/vmbackup-testhosts``) and never changed; every host is an overlayfs on top of it
(instant), with its own ``/proc``, ``/dev`` (bind) and ``/sys`` (bind, read-only) so modules read
mount tables and apt works inside. ``policy-rc.d`` forbids starting services in the chroot, as in
any Debian image build. Ansible reaches the host with ``community.general.chroot``.

Needs root (debootstrap, mount). Touches only what it creates under DIR and the cache directory.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import time

import _testhost_common as host

CACHE = os.environ.get("VMBACKUP_ROOTFS_CACHE", "/var/tmp/vmbackup-testhosts")
SUITE = "bookworm"
INCLUDE = "python3,systemd,systemd-sysv,dbus"
STATE_FILE = "rootfs.json"
HOST_NAME = "linux-chroot"


class RootfsError(RuntimeError):
    pass


def _run(argv, check=True, **kw):
    return host.run(argv, RootfsError, check=check, tail=600, **kw)


def _mirror():
    """The Debian mirror this machine's apt uses (deb822 or one-line sources)."""
    paths = ["/etc/apt/sources.list"]
    with contextlib.suppress(OSError):
        paths += [os.path.join("/etc/apt/sources.list.d", n) for n in sorted(os.listdir("/etc/apt/sources.list.d"))]
    for path in paths:
        with contextlib.suppress(OSError), open(path, encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if line.startswith("URIs:") and len(parts) > 1 and "security" not in parts[1]:
                    return parts[1]
                if line.startswith("deb ") and "security" not in line:
                    return next(p for p in parts[1:] if "://" in p)
    return "http://deb.debian.org/debian"


def base(cache=CACHE):
    """The cached base rootfs directory, built when missing (atomic: built aside, then renamed)."""
    if os.geteuid() != 0:
        raise RootfsError("linux_rootfs needs root (debootstrap, mount)")
    path = os.path.join(cache, f"{SUITE}-systemd")
    if os.path.exists(os.path.join(path, ".complete")):
        return path
    if not shutil.which("debootstrap"):
        raise RootfsError("debootstrap not found (apt-get install debootstrap)")
    os.makedirs(cache, exist_ok=True)
    tmp = path + f".tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _run(["debootstrap", "--variant=minbase", f"--include={INCLUDE}", SUITE, tmp, _mirror()])
        with open(os.path.join(tmp, "usr/sbin/policy-rc.d"), "w", encoding="utf-8") as fh:
            fh.write("#!/bin/sh\n# no service starts inside a chroot image build\nexit 101\n")
        os.chmod(os.path.join(tmp, "usr/sbin/policy-rc.d"), 0o755)
        with open(os.path.join(tmp, ".complete"), "w", encoding="utf-8") as fh:
            fh.write(time.strftime("%Y-%m-%dT%H:%M:%SZ\n", time.gmtime()))
        shutil.rmtree(path, ignore_errors=True)
        os.rename(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def up(workdir, cache=CACHE):
    """An overlay chroot host under ``workdir``; writes ``rootfs.json`` and ``inventory.yml``."""
    lower = base(cache)
    workdir = os.path.abspath(workdir)
    root = os.path.join(workdir, "root")
    data = {"workdir": workdir, "root": root, "mounts": []}
    try:
        host.mount_overlay(lower, workdir, RootfsError)
        data["mounts"].append(root)
        _save(workdir, data)
        for src, sub, extra in (
            ("proc", "proc", ["-t", "proc"]),
            ("/dev", "dev", ["--bind"]),
            ("/sys", "sys", ["--bind"]),
        ):
            target = os.path.join(root, sub)
            os.makedirs(target, exist_ok=True)
            _run(["mount", *extra, src, target])
            data["mounts"].append(target)
            if sub == "sys":
                _run(["mount", "-o", "remount,bind,ro", target])
            _save(workdir, data)
        with contextlib.suppress(OSError):
            shutil.copyfile("/etc/resolv.conf", os.path.join(root, "etc/resolv.conf"))
    except BaseException:
        down(workdir)
        raise
    data["inventory_vars"] = {
        "ansible_connection": "community.general.chroot",
        "ansible_host": root,
        "ansible_python_interpreter": "/usr/bin/python3",
    }
    path = os.path.join(workdir, "inventory.yml")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(host.inventory_yaml(HOST_NAME, data["inventory_vars"]))
    data["inventory"] = path
    _save(workdir, data)
    return data


def _save(workdir, data):
    host.save_json(os.path.join(workdir, STATE_FILE), data)


def down(workdir):
    """Unmount what ``up`` mounted (reverse order) and delete the overlay's upper layer. Returns problems."""
    workdir = os.path.abspath(workdir)
    try:
        with open(os.path.join(workdir, STATE_FILE), encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return []
    problems = host.unmount(reversed(data.get("mounts", [])), RootfsError)
    if not problems:
        for sub in ("upper", "work", "root"):
            shutil.rmtree(os.path.join(workdir, sub), ignore_errors=True)
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(workdir, STATE_FILE))
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["base", "up", "down"])
    parser.add_argument("--workdir")
    args = parser.parse_args(argv)
    if args.command != "base" and not args.workdir:
        parser.error("--workdir is required")
    actions = {"base": base, "up": lambda: up(args.workdir), "down": lambda: down(args.workdir)}
    return host.cli("linux_rootfs", RootfsError, actions[args.command])


if __name__ == "__main__":
    sys.exit(main())
