#!/usr/bin/env python3
"""Real upstream code from Debian's archive, unpacked (never installed) under build/upstream/.

    python tools/linux_upstream.py waagent            # prints the directory to put on sys.path
    python tools/linux_upstream.py waagent --python   # prints a Python that can import it

``waagent_python_path()`` downloads Debian's ``waagent`` package (WALinuxAgent; 2.7.3.0 in bookworm)
with ``apt-get download`` into ``build/upstream/`` once, unpacks it with ``dpkg-deb -x`` and returns
its ``dist-packages`` directory, so tests import the agent's own ``azurelinuxagent.common.conf``
(its waagent.conf reader). Nothing is installed on the machine and nothing of it is committed.
Needs the Debian apt sources (it runs ``apt-get update`` once when the download fails for want of
package lists; root) and ``dpkg-deb``. ``make setup`` runs it, so tests find the package without the
network; callers in parallel (``pytest -n 2``) are serialised by a lock file (``build/upstream/.lock``).

``agent_python()`` is an interpreter that can import the agent: 2.7.3.0 imports ``crypt``
(``azurelinuxagent/common/utils/textutil.py``), which Python 3.13 removed - so Python <= 3.12; Debian's
own ``/usr/bin/python3`` first (the one the package is built for), else ``python3.12`` ... ``python3.8``
on PATH, or the one named by ``VMBACKUP_AGENT_PYTHON``.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import shutil
import subprocess
import sys

import _testhost_common as host

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, "build", "upstream")
C_ENV = host.C_ENV


class UpstreamError(RuntimeError):
    pass


def _run(argv, cwd):
    return host.run(argv, UpstreamError, cwd=cwd)


@contextlib.contextmanager
def _locked(cache):
    """One download/unpack at a time per cache directory (pytest-xdist workers, parallel make)."""
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, ".lock"), "a", encoding="utf-8") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def unpacked(package, cache=CACHE):
    """Directory where Debian's ``package`` is unpacked (downloaded and unpacked on first use)."""
    dest = os.path.join(cache, package)
    stamp = os.path.join(dest, ".unpacked")
    if os.path.exists(stamp):  # written last: the directory is complete
        return dest
    with _locked(cache):
        if os.path.exists(stamp):  # another caller unpacked it while this one waited
            return dest
        return _download_and_unpack(package, cache, dest, stamp)


def _download_and_unpack(package, cache, dest, stamp):
    debs = sorted(glob.glob(os.path.join(cache, f"{package}_*.deb")))
    if not debs:
        # APT::Sandbox::User=root: the download directory belongs to root, not to _apt
        download = ["apt-get", "-q", "-o", "APT::Sandbox::User=root", "download", package]
        try:
            _run(download, cwd=cache)
        except UpstreamError:
            # a fresh machine may have no package lists yet (make setup updates them only when it installs)
            _run(["apt-get", "update", "-qq"], cwd=cache)
            _run(download, cwd=cache)
        debs = sorted(glob.glob(os.path.join(cache, f"{package}_*.deb")))
        if not debs:
            raise UpstreamError(f"apt-get download {package} left no {package}_*.deb in {cache}")
    tmp = dest + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    _run(["dpkg-deb", "-x", debs[-1], tmp], cwd=cache)
    shutil.rmtree(dest, ignore_errors=True)
    os.rename(tmp, dest)
    with open(stamp, "w", encoding="utf-8") as handle:
        handle.write(os.path.basename(debs[-1]) + "\n")
    return dest


def waagent_python_path(cache=CACHE):
    """The ``dist-packages`` directory holding Debian's ``azurelinuxagent`` package."""
    base = os.path.join(unpacked("waagent", cache), "usr", "lib", "python3", "dist-packages")
    if not os.path.exists(os.path.join(base, "azurelinuxagent", "common", "conf.py")):
        raise UpstreamError(f"{base} has no azurelinuxagent/common/conf.py")
    return base


_agent_python_cache = {}
PYTHON_CANDIDATES = ("/usr/bin/python3", "python3.12", "python3.11", "python3.10", "python3.9", "python3.8")


def agent_python(cache=CACHE, candidates=None):
    """An interpreter that imports the agent's ``azurelinuxagent.common.conf`` (see the module docstring)."""
    path = waagent_python_path(cache)
    override = os.environ.get("VMBACKUP_AGENT_PYTHON")
    names = [override] if override else list(candidates or PYTHON_CANDIDATES)
    key = (path, tuple(names))
    if key in _agent_python_cache:
        return _agent_python_cache[key]
    tried = []
    for name in names:
        python = name if os.path.isabs(name) else shutil.which(name)
        if not python or not os.access(python, os.X_OK):
            tried.append(f"{name} (not found)")
            continue
        probe = "import sys; sys.path.insert(0, sys.argv[1]); import azurelinuxagent.common.conf; print(sys.version)"
        proc = subprocess.run(
            [python, "-I", "-c", probe, path], capture_output=True, text=True, env=C_ENV, check=False, timeout=60
        )
        if proc.returncode == 0:
            _agent_python_cache[key] = python
            return python
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        tried.append(f"{python} ({last})")
    raise UpstreamError(
        "no Python here can import Debian's WALinuxAgent (azurelinuxagent, needs Python <= 3.12: it imports "
        "crypt, removed in Python 3.13); tried: "
        + "; ".join(tried)
        + ". Install python3 <= 3.12 (Debian's /usr/bin/python3) or name one in VMBACKUP_AGENT_PYTHON"
    )


def waagent_version(cache=CACHE):
    with open(os.path.join(unpacked("waagent", cache), ".unpacked"), encoding="utf-8") as handle:
        return handle.read().strip()


def main(argv=None):
    args = argv if argv is not None else sys.argv[1:]
    if args not in (["waagent"], ["waagent", "--python"]):
        print(__doc__, file=sys.stderr)
        return 2
    return host.cli("linux_upstream", UpstreamError, agent_python if "--python" in args else waagent_python_path)


if __name__ == "__main__":
    sys.exit(main())
