#!/usr/bin/env python3
"""Real upstream code from Debian's archive, unpacked (never installed) under build/upstream/.

    python tools/linux_upstream.py waagent     # prints the directory to put on sys.path

``waagent_python_path()`` downloads Debian's ``waagent`` package (WALinuxAgent; 2.7.3.0 in bookworm)
with ``apt-get download`` into ``build/upstream/`` once, unpacks it with ``dpkg-deb -x`` and returns
its ``dist-packages`` directory, so tests import the agent's own ``azurelinuxagent.common.conf``
(its waagent.conf reader). Nothing is installed on the machine and nothing of it is committed.
Needs the Debian apt sources (it runs ``apt-get update`` once when the download fails for want of
package lists; root) and ``dpkg-deb``.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, "build", "upstream")
C_ENV = dict(os.environ, LANG="C", LC_ALL="C", LANGUAGE="C")


class UpstreamError(RuntimeError):
    pass


def _run(argv, cwd):
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=C_ENV, check=False)
    if proc.returncode != 0:
        raise UpstreamError(f"{' '.join(argv)} failed (rc {proc.returncode}): {(proc.stderr or proc.stdout).strip()}")
    return proc


def unpacked(package, cache=CACHE):
    """Directory where Debian's ``package`` is unpacked (downloaded and unpacked on first use)."""
    dest = os.path.join(cache, package)
    stamp = os.path.join(dest, ".unpacked")
    if os.path.exists(stamp):
        return dest
    os.makedirs(cache, exist_ok=True)
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


def waagent_version(cache=CACHE):
    with open(os.path.join(unpacked("waagent", cache), ".unpacked"), encoding="utf-8") as handle:
        return handle.read().strip()


def main(argv=None):
    args = argv if argv is not None else sys.argv[1:]
    if args != ["waagent"]:
        print(__doc__, file=sys.stderr)
        return 2
    print(waagent_python_path())
    return 0


if __name__ == "__main__":
    sys.exit(main())
