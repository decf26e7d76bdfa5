"""tools/linux_upstream.py: the unpacked Debian ``waagent`` package under build/upstream/ (review finding 2).

``make test`` runs pytest with two workers (``-n 2``): both may ask for the package at the same time, so
unpacking must be serialised (a lock file) and every caller must get a complete directory. The agent's
code needs a Python that can import it (2.7.3.0 imports ``crypt``, removed in Python 3.13): the tool picks
one and, when there is none, says what is needed.
"""

from __future__ import annotations

import glob
import multiprocessing
import os
import shutil
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import linux_upstream  # noqa: E402


def _unpack(cache, queue):
    try:
        path = linux_upstream.waagent_python_path(cache)
        queue.put(("ok", os.path.exists(os.path.join(path, "azurelinuxagent", "common", "conf.py"))))
    except BaseException as exc:  # report every failure of a worker to the test
        queue.put(("error", f"{type(exc).__name__}: {exc}"))


def test_concurrent_callers_all_get_a_complete_unpack(tmp_path):
    # the .deb make setup downloaded (no network needed here): only the unpacking races
    (deb,) = glob.glob(os.path.join(os.path.dirname(linux_upstream.unpacked("waagent")), "waagent_*.deb"))
    ctx = multiprocessing.get_context("fork")
    for round_ in range(4):
        cache = tmp_path / f"cache{round_}"
        cache.mkdir()
        shutil.copy(deb, cache)
        queue = ctx.Queue()
        workers = [ctx.Process(target=_unpack, args=(str(cache), queue)) for dummy in range(4)]
        for worker in workers:
            worker.start()
        results = [queue.get(timeout=120) for dummy in workers]
        for worker in workers:
            worker.join(timeout=60)
        assert results == [("ok", True)] * len(workers), results
        assert not glob.glob(str(cache / "*.tmp")), "no temporary directory is left behind"


def test_the_agent_python_imports_the_agent():
    python = linux_upstream.agent_python()
    assert os.access(python, os.X_OK)


def test_no_python_that_can_import_the_agent_says_what_is_needed(monkeypatch):
    monkeypatch.setattr(linux_upstream, "_agent_python_cache", {})
    monkeypatch.setenv("VMBACKUP_AGENT_PYTHON", "")
    with pytest.raises(linux_upstream.UpstreamError) as info:
        linux_upstream.agent_python(candidates=[sys.executable] if sys.version_info >= (3, 13) else ["/nonexistent"])
    msg = str(info.value)
    assert "3.12" in msg and "crypt" in msg and "VMBACKUP_AGENT_PYTHON" in msg, msg
