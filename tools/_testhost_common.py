"""What the Linux test-host tools share (not shipped): linux_testhost.py, linux_rootfs.py, linux_chroot.py and
linux_upstream.py.

- ``run``: a command in the C locale (its messages are quoted and parsed), raising the tool's own error class.
- ``mounted`` / ``unmount``: the mount table as /proc/self/mountinfo has it (octal escapes decoded); unmount
  only what is still mounted, retrying a busy mount.
- ``mount_overlay``: an overlay of a cached read-only root at ``<workdir>/root`` (changes in ``<workdir>/upper``).
- ``save_json`` / ``inventory_yaml``: a tool's state file (written atomically) and its one-host inventory.
- ``cli``: how every tool's command line ends (result on stdout, problems on stderr, exit status).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

C_ENV = dict(os.environ, LANG="C", LC_ALL="C", LANGUAGE="C")


def run(
    argv: list[str],
    error: type[Exception],
    check: bool = True,
    tail: int | None = None,
    env: dict[str, str] | None = None,
    **kw: Any,
) -> subprocess.CompletedProcess[str]:
    """``argv`` run in the C locale; with ``check``, a non-zero exit raises ``error`` quoting its output (the
    last ``tail`` characters)."""
    proc = subprocess.run(argv, capture_output=True, text=True, env=env or C_ENV, check=False, **kw)
    if check and proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip()
        raise error(f"{' '.join(argv)} failed (rc {proc.returncode}): {said[-tail:] if tail else said}")
    return proc


def _unescape(field: str) -> str:
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def mounted(path: str) -> bool:
    """Whether something is mounted at ``path`` (symlinks resolved, as the mount table has it)."""
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        return any(_unescape(line.split()[4]) == path for line in handle)


def unmount(targets: Iterable[str], error: type[Exception]) -> list[str]:
    """Unmount each of ``targets`` that is still mounted, in the order given, trying a busy one up to 5 times.

    Returns one problem per target left mounted (empty: all are gone).
    """
    problems = []
    for target in targets:
        said = ""
        for _ in range(5):
            if not mounted(target):
                break
            proc = run(["umount", target], error, check=False)
            if proc.returncode != 0:
                said = proc.stderr.strip()
                time.sleep(0.2)
        if mounted(target):
            problems.append(f"umount {target}: {said or 'still mounted'}")
    return problems


def mount_overlay(lower: str, workdir: str, error: type[Exception]) -> str:
    """Mount an overlay at ``<workdir>/root``: ``lower`` read-only below, every change in ``<workdir>/upper``."""
    for sub in ("upper", "work", "root"):
        os.makedirs(os.path.join(workdir, sub), exist_ok=True)
    root = os.path.join(workdir, "root")
    opts = f"lowerdir={lower},upperdir={workdir}/upper,workdir={workdir}/work"
    run(["mount", "-t", "overlay", "overlay", "-o", opts, root], error)
    return root


def save_json(path: str, data: Any) -> None:
    """Write ``data`` to ``path`` as JSON, atomically (a reader never sees half a file)."""
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
    os.replace(path + ".tmp", path)


def inventory_yaml(host: str, host_vars: dict[str, Any]) -> str:
    """An Ansible inventory (YAML) of the one host ``host`` with ``host_vars``."""
    lines = ["all:", "  hosts:", f"    {host}:"]
    lines += [f"      {key}: {json.dumps(value)}" for key, value in host_vars.items()]
    return "\n".join(lines) + "\n"


def cli(name: str, error: type[Exception], action: Callable[[], Any]) -> int:
    """The end of a tool's ``main()``: run ``action`` and return the exit status.

    A string result is printed, a dict printed as JSON; a list is the problems of a ``down`` (printed on
    stderr, exit status 1 unless empty). ``error`` raised by the action is printed as ``<name>: <message>``.
    """
    try:
        result = action()
    except error as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    if isinstance(result, list):
        if result:
            print("\n".join(result), file=sys.stderr)
            return 1
    elif isinstance(result, dict):
        print(json.dumps(result, indent=2))
    elif result is not None:
        print(result)
    return 0
