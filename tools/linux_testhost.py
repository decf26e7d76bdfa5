#!/usr/bin/env python3
"""Linux test hosts on this machine: unclean ext4 images on loop devices and sshd on loopback.

Importable (tests, molecule, the demo) and a CLI:

    python tools/linux_testhost.py up   --workdir DIR [--images 1] [--state 0]
    python tools/linux_testhost.py down --workdir DIR

``up`` (``setup()`` in Python) writes DIR/testhost.json (everything ``down`` needs) and DIR/inventory.yml (one host,
``linux-testhost``, reached over real SSH as root on 127.0.0.1).

Needs root (loop devices, mount, sshd). Touches only what it creates under DIR: its image files,
the loop devices attached to them, its mount points and its own sshd (killed by the pid in its own
pid file, after checking that pid runs with its own config file).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import sys
import time

import _testhost_common as host

C_ENV = host.C_ENV
STATE_FILE = "testhost.json"
INVENTORY_FILE = "inventory.yml"
HOST_NAME = "linux-testhost"


class TestHostError(RuntimeError):
    pass


def _run(argv, check=True, **kw):
    return host.run(argv, TestHostError, check=check, **kw)


def _require_root():
    if os.geteuid() != 0:
        raise TestHostError("linux_testhost needs root (loop devices, mount, sshd on loopback)")


# ---------------------------------------------------------------------------------------------
# ext4 images on loop devices


def fs_state(target):
    """``Filesystem state`` of tune2fs -l for an image file or a device."""
    out = _run(["tune2fs", "-l", target]).stdout
    for line in out.splitlines():
        if line.startswith("Filesystem state:"):
            return line.split(":", 1)[1].strip()
    raise TestHostError(f"tune2fs -l {target}: no 'Filesystem state' line")


def mount_entry(mountpoint):
    """The visible mountinfo entry at ``mountpoint`` as ``{device, fstype, options, majmin}`` or None."""
    found = None
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        for line in fh:
            f = line.split()
            sep = f.index("-", 6)
            mp = f[4].replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
            if mp == mountpoint:
                found = {"majmin": f[2], "mount_options": f[5], "fstype": f[sep + 1], "device": f[sep + 2]}
                found["super_options"] = f[sep + 3] if len(f) > sep + 3 else ""
    return found


def loop_backing_file(loopdev):
    name = os.path.basename(loopdev)
    try:
        with open(f"/sys/block/{name}/loop/backing_file", encoding="utf-8") as fh:
            return fh.read().strip()
    except OSError:
        return None


def make_unclean_ext4(workdir, name, size_mb=32, state=0, fstype="ext4", mount=True, options=None):
    """A real filesystem image under ``workdir``, marked unclean with debugfs, on a loop device, mounted.

    ``state``: the superblock state written by ``debugfs -w -R 'ssv state N'`` (0: ``not clean``,
    2: ``not clean with errors``, 1: clean).
    Returns ``{image, loopdev, mountpoint, fstype, mount_options, super_options}``
    (the options as /proc/self/mountinfo shows them right after mounting).
    Raises TestHostError (after undoing what it did) when anything fails.
    """
    _require_root()
    workdir = os.path.abspath(workdir)
    os.makedirs(workdir, exist_ok=True)
    image = os.path.join(workdir, f"{name}.img")
    mountpoint = os.path.join(workdir, "mnt", name)
    info = {"image": image, "loopdev": None, "mountpoint": mountpoint if mount else None, "fstype": fstype}
    try:
        with open(image, "wb") as fh:
            fh.truncate(size_mb * 1024 * 1024)
        # No lazy init: ext4 would otherwise keep writing its inode tables after mount, and tests
        # that compare the image before and after a check-mode run would see bytes change.
        lazy = ["-E", "lazy_itable_init=0,lazy_journal_init=0"] if fstype.startswith("ext") and fstype != "ext2" else []
        _run([f"mkfs.{fstype}", "-q", "-F", *lazy, image])
        if state is not None:
            _run(["debugfs", "-w", "-R", f"ssv state {int(state)}", image])
        info["loopdev"] = _run(["losetup", "-f", "--show", image]).stdout.strip()
        if mount:
            os.makedirs(mountpoint, exist_ok=True)
            argv = ["mount", "-t", fstype]
            if options:
                argv += ["-o", options]
            _run(argv + [info["loopdev"], mountpoint])
            entry = mount_entry(mountpoint) or {}
            info["mount_options"] = entry.get("mount_options")
            info["super_options"] = entry.get("super_options")
    except BaseException:
        cleanup(info)
        raise
    return info


def cleanup(*filesystems):
    """Unmount, detach and delete what ``make_unclean_ext4`` made. Never raises for what is already gone.

    Only unmounts ``mountpoint`` when the mount there is the image's loop device, only detaches the
    loop device when it is backed by the image. Returns a list of problems (empty: all clean).
    """
    problems = []
    for fs in filesystems:
        if not fs:
            continue
        image, loopdev, mountpoint = fs.get("image"), fs.get("loopdev"), fs.get("mountpoint")
        if mountpoint and loopdev:
            for _ in range(5):
                entry = mount_entry(mountpoint)
                if not entry or entry["device"] != loopdev:
                    break
                proc = _run(["umount", mountpoint], check=False)
                if proc.returncode != 0:
                    problems.append(f"umount {mountpoint}: {proc.stderr.strip()}")
                    time.sleep(0.2)
        if loopdev and image and loop_backing_file(loopdev) == image:
            entry = mountpoint and mount_entry(mountpoint)
            if entry and entry["device"] == loopdev:
                problems.append(f"not detaching {loopdev}: still mounted at {mountpoint}")
            else:
                proc = _run(["losetup", "-d", loopdev], check=False)
                if proc.returncode != 0:
                    problems.append(f"losetup -d {loopdev}: {proc.stderr.strip()}")
        if mountpoint and os.path.isdir(mountpoint) and not mount_entry(mountpoint):
            with contextlib.suppress(OSError):
                os.rmdir(mountpoint)
        if image and os.path.exists(image) and not (loopdev and loop_backing_file(loopdev) == image):
            with contextlib.suppress(OSError):
                os.unlink(image)
    return problems


# ---------------------------------------------------------------------------------------------
# sshd on loopback


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port, pid, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if pid and not _alive(pid):
            break
        time.sleep(0.05)
    raise TestHostError(f"sshd did not listen on 127.0.0.1:{port}")


def _remote_python():
    for candidate in ("/usr/bin/python3", sys.executable):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return "python3"


def start_sshd(workdir, port=None):
    """An sshd of its own on 127.0.0.1 that lets root in with a key made for it.

    Returns ``{port, key, pidfile, config, pid, inventory_vars}``; ``inventory_vars`` are the host
    variables that make Ansible connect to it over real SSH.
    """
    _require_root()
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    if not os.access(sshd, os.X_OK):
        raise TestHostError("sshd not found (apt-get install openssh-server)")
    d = os.path.join(os.path.abspath(workdir), "sshd")
    os.makedirs(d, mode=0o700, exist_ok=True)
    host_key = os.path.join(d, "ssh_host_ed25519_key")
    client_key = os.path.join(d, "id_ed25519")
    for key in (host_key, client_key):
        if not os.path.exists(key):
            _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "linux_testhost", "-f", key])
    authorized = os.path.join(d, "authorized_keys")
    shutil.copyfile(client_key + ".pub", authorized)
    os.chmod(authorized, 0o600)
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation directory
    port = int(port or free_port())
    pidfile = os.path.join(d, "sshd.pid")
    config = os.path.join(d, "sshd_config")
    with open(config, "w", encoding="utf-8") as fh:
        fh.write(
            "\n".join(
                [
                    f"Port {port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {host_key}",
                    f"PidFile {pidfile}",
                    f"AuthorizedKeysFile {authorized}",
                    "UsePAM no",
                    "PermitRootLogin prohibit-password",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "StrictModes no",
                    "PrintMotd no",
                    "Subsystem sftp internal-sftp",
                    "",
                ]
            )
        )
    _run([sshd, "-t", "-f", config])
    _run([sshd, "-f", config])  # daemonizes; the parent returns once the pid file is written
    pid = None
    for _ in range(100):
        with contextlib.suppress(OSError, ValueError):
            with open(pidfile, encoding="utf-8") as fh:
                pid = int(fh.read().strip())
            break
        time.sleep(0.05)
    info = {"port": port, "key": client_key, "pidfile": pidfile, "config": config, "pid": pid}
    try:
        _wait_port(port, pid)
    except TestHostError:
        stop_sshd(info)
        raise
    info["inventory_vars"] = {
        "ansible_connection": "ssh",
        "ansible_host": "127.0.0.1",
        "ansible_port": port,
        "ansible_user": "root",
        "ansible_ssh_private_key_file": client_key,
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes",
        "ansible_python_interpreter": _remote_python(),
    }
    return info


def _alive(pid):
    """True while ``pid`` runs (a zombie waiting for its parent to reap it counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def stop_sshd(info):
    """Kill the sshd that ``start_sshd`` started (and only it). Returns True when it is gone."""
    if not info:
        return True
    pid = info.get("pid")
    if pid is None and info.get("pidfile"):
        with contextlib.suppress(OSError, ValueError), open(info["pidfile"], encoding="utf-8") as fh:
            pid = int(fh.read().strip())
    if not pid:
        return True
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read()
    except OSError:
        return True
    # sshd rewrites its command line ("sshd: /usr/sbin/sshd -f <config> [listener] ..."): search it.
    if not info.get("config") or info["config"].encode() not in cmdline:
        return True  # the pid was reused by something else: not ours
    # Its sessions (children: ControlPersist connections outlive the listener otherwise), then it.
    ours = _descendants(pid) + [pid]
    for victim in ours:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGTERM)
    for _ in range(100):
        if not any(_alive(p) for p in ours):
            break
        time.sleep(0.05)
    with contextlib.suppress(OSError):
        os.unlink(info["pidfile"])
    return not _alive(pid)


def _descendants(pid):
    """Pids whose parent chain leads to ``pid`` (read from /proc/<pid>/stat)."""
    parents = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="utf-8") as fh:
                parents[int(name)] = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        for child, parent in parents.items():
            if parent == current and child not in found:
                found.append(child)
                todo.append(child)
    return found


# ---------------------------------------------------------------------------------------------
# up / down


def up(workdir, images=1, state=0, size_mb=32):
    """Start one test host: ``images`` unclean ext4 filesystems and an sshd. Writes the state file."""
    workdir = os.path.abspath(workdir)
    os.makedirs(workdir, exist_ok=True)
    data = {"workdir": workdir, "filesystems": [], "sshd": None}
    try:
        for i in range(images):
            data["filesystems"].append(make_unclean_ext4(workdir, f"extfs{i}", size_mb=size_mb, state=state))
            _save(workdir, data)
        data["sshd"] = start_sshd(workdir)
        _save(workdir, data)
    except BaseException:
        down(workdir)
        raise
    mounts = [fs["mountpoint"] for fs in data["filesystems"]]
    with open(os.path.join(workdir, INVENTORY_FILE), "w", encoding="utf-8") as fh:
        fh.write(host.inventory_yaml(HOST_NAME, {**data["sshd"]["inventory_vars"], "linux_testhost_mounts": mounts}))
    data["inventory"] = os.path.join(workdir, INVENTORY_FILE)
    # Short names for callers (demo, test fixtures): the first disk, the port, the host variables.
    first = data["filesystems"][0] if data["filesystems"] else {}
    data["disk"] = dict(first, device=first.get("loopdev"))
    data["mountpoint"] = first.get("mountpoint")
    data["port"] = data["sshd"]["port"]
    data["vars"] = dict(data["sshd"]["inventory_vars"])
    _save(workdir, data)
    return data


def setup(workdir, **kwargs):
    """``up`` (kept for tools/demo.py): returns ``{port, vars, disk: {device, mountpoint, image}, mountpoint, ...}``."""
    return up(workdir, **kwargs)


def teardown(workdir):
    """``down`` that raises TestHostError when something could not be undone; a no-op when nothing is up."""
    problems = down(workdir)
    if problems:
        raise TestHostError("; ".join(problems))


def _save(workdir, data):
    host.save_json(os.path.join(workdir, STATE_FILE), data)


def load(workdir):
    with open(os.path.join(os.path.abspath(workdir), STATE_FILE), encoding="utf-8") as fh:
        return json.load(fh)


def down(workdir):
    """Undo ``up``. Returns a list of problems (empty: everything is gone)."""
    try:
        data = load(workdir)
    except (OSError, ValueError):
        return []
    problems = []
    if not stop_sshd(data.get("sshd")):
        problems.append("sshd did not stop")
    problems += cleanup(*data.get("filesystems", []))
    if not problems:
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(os.path.abspath(workdir), STATE_FILE))
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up", "down", "state"])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--images", type=int, default=1)
    parser.add_argument("--state", type=int, default=0, help="superblock state to write (0 not clean, 2 with errors)")
    parser.add_argument("--size-mb", type=int, default=32)
    args = parser.parse_args(argv)
    actions = {
        "up": lambda: up(args.workdir, images=args.images, state=args.state, size_mb=args.size_mb),
        "state": lambda: {fs["mountpoint"]: fs_state(fs["loopdev"]) for fs in load(args.workdir)["filesystems"]},
        "down": lambda: down(args.workdir),
    }
    return host.cli("linux_testhost", TestHostError, actions[args.command])


if __name__ == "__main__":
    sys.exit(main())
