"""The vmbackup.conf and waagent.conf edits keep the file.

The modules run through ansible-playbook (connection local) on files under the test's tmp dir:
symlinks are followed (as lineinfile does), untouched lines keep their bytes and line endings,
waagent.conf lines end at ``\\n`` only, non-UTF-8 bytes survive, and a full disk (a real tmpfs of
64 KiB) leaves neither a partial backup nor a temporary file and says which file and why.
Needs root for the tmpfs mount (CI runs as root).
"""

from __future__ import annotations

import os
import subprocess

import pytest
import test_ext_filesystems
from conftest import run_playbook, task_results

local_inventory = test_ext_filesystems.local_inventory  # the fixture, shared

CONF = """
- hosts: all
  gather_facts: false
  tasks:
    - name: vmbackup_conf
      vmbackup.azure.vmbackup_conf:
        path: "{{ test_path }}"
        settings: "{{ test_settings }}"
        backup: "{{ test_backup | default(true) }}"
        fix_plugin_host_conf: false
"""
AGENT = """
- hosts: all
  gather_facts: false
  tasks:
    - name: waagent
      vmbackup.azure.waagent:
        conf_path: "{{ test_path }}"
        azure_only: false
        start: false
        backup: "{{ test_backup | default(true) }}"
"""


def run(tmp_path, inventory, playbook, path, *args, **extra):
    play = tmp_path / "play.yml"
    play.write_text(playbook)
    extra = {"test_path": str(path), "test_settings": {}, **extra}
    proc = run_playbook(inventory, play, *args, extra_vars=extra, json_output=True)
    assert hasattr(proc, "json"), proc.stdout[-3000:] + proc.stderr[-3000:]
    name = "vmbackup_conf" if playbook is CONF else "waagent"
    return proc, task_results(proc.json, name)["testhost"]


@pytest.fixture
def tiny_fs(tmp_path):
    """A real 64 KiB tmpfs: a 40 KiB file fits, its backup does not."""
    mnt = tmp_path / "full"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


# --- symlinks -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["vmbackup", "waagent"])
def test_symlink_is_followed(tmp_path, local_inventory, kind):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    target = real_dir / "file.conf"
    link = tmp_path / "link.conf"
    link.symlink_to(target)
    if kind == "vmbackup":
        target.write_text("[SnapshotThread]\nfsfreeze = True\n")
        proc, res = run(tmp_path, local_inventory, CONF, link, test_settings={"timeout": 200})
        expected = "timeout = 200"
    else:
        target.write_text("Extensions.Enabled=n\nLogs.Verbose=n\n")
        proc, res = run(tmp_path, local_inventory, AGENT, link)
        expected = "Extensions.Enabled=y"
    assert res["changed"] is True, res
    assert link.is_symlink() and os.readlink(link) == str(target), "the link is kept"
    assert expected in target.read_text()
    assert res["backup_file"].startswith(str(target) + "."), "the backup is beside the target"


# --- bytes and line endings of untouched lines --------------------------------------------------


def test_vmbackup_conf_crlf_stays_crlf(tmp_path, local_inventory):
    path = tmp_path / "vmbackup.conf"
    path.write_bytes(b"# kept\r\n[SnapshotThread]\r\nfsfreeze = True\r\ntimeout = 10\r\n")
    proc, res = run(tmp_path, local_inventory, CONF, path, test_settings={"timeout": 200})
    assert proc.returncode == 0, res
    assert path.read_bytes() == b"# kept\r\n[SnapshotThread]\r\nfsfreeze = True\r\ntimeout = 200\r\n"


def test_waagent_conf_keeps_crlf_form_feed_u2028(tmp_path, local_inventory):
    path = tmp_path / "waagent.conf"
    before = (
        b"# caf\xc3\xa9\r\n"
        b"Logs.Verbose=n\x0cfoo=1\r\n"
        b"OS.Note=a\xe2\x80\xa8bar=1\n"
        b"Extensions.Enabled=n\r\n"
        b"AutoUpdate.Enabled=y"
    )
    path.write_bytes(before)
    proc, res = run(tmp_path, local_inventory, AGENT, path)
    assert res["changed"] is True, res
    after = path.read_bytes()
    assert after == before.replace(b"Extensions.Enabled=n\r\n", b"Extensions.Enabled=y\r\n")
    assert b"\nfoo=1" not in after and b"\nbar=1" not in after


def test_waagent_conf_the_agent_cannot_read_is_an_error_and_kept(tmp_path, local_inventory):
    """Not UTF-8: the agent's strict decode fails on it (it cannot read the file at all), so the module fails
    naming the file and the reason, and changes nothing (review finding 1)."""
    path = tmp_path / "waagent.conf"
    before = b"# caf\xe9 (latin-1)\nExtensions.Enabled=n\n"
    path.write_bytes(before)
    proc, res = run(tmp_path, local_inventory, AGENT, path)
    assert proc.returncode != 0 and res.get("failed") is True, res
    assert str(path) in res["msg"] and "not UTF-8" in res["msg"], res
    assert res["changed"] is False
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir() if "waagent" in p.name) == [
        "waagent.conf"
    ]


def test_waagent_conf_lone_cr_is_one_line_for_the_agent(tmp_path, local_inventory):
    """``n\\r...`` is not ``n`` to the agent (it splits on ``\\n`` only): no finding, no edit (review finding 1)."""
    path = tmp_path / "waagent.conf"
    before = b"Extensions.Enabled=n\rAutoUpdate.Enabled=y\n"
    path.write_bytes(before)
    proc, res = run(tmp_path, local_inventory, AGENT, path)
    assert proc.returncode == 0 and res["changed"] is False, res
    assert path.read_bytes() == before


def test_vmbackup_conf_non_utf8_is_refused_naming_the_file(tmp_path, local_inventory):
    path = tmp_path / "vmbackup.conf"
    before = b"[SnapshotThread]\n# caf\xe9\ntimeout = 10\n"
    path.write_bytes(before)
    proc, res = run(tmp_path, local_inventory, CONF, path, test_settings={"timeout": 200})
    assert proc.returncode != 0
    assert str(path) in res["msg"] and "UTF-8" in res["msg"]
    assert path.read_bytes() == before


# --- a full disk ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["vmbackup", "waagent"])
@pytest.mark.parametrize("backup", [True, False])
def test_full_disk_leaves_the_file_and_no_partial_copy(tmp_path, local_inventory, tiny_fs, kind, backup):
    path = tiny_fs / ("vmbackup.conf" if kind == "vmbackup" else "waagent.conf")
    filler = "".join(f"# comment line {n:05d} to fill the file ..............\n" for n in range(800))
    if kind == "vmbackup":
        before = ("[SnapshotThread]\ntimeout = 10\n" + filler).encode()
    else:
        before = ("Extensions.Enabled=n\n" + filler).encode()
    path.write_bytes(before)
    assert 36_000 < len(before) < 48_000
    if kind == "vmbackup":
        proc, res = run(tmp_path, local_inventory, CONF, path, test_settings={"timeout": 200}, test_backup=backup)
    else:
        proc, res = run(tmp_path, local_inventory, AGENT, path, test_backup=backup)
    assert proc.returncode != 0, res
    assert str(path) in res["msg"] and "No space left on device" in res["msg"], res["msg"]
    assert path.read_bytes() == before
    assert sorted(os.listdir(tiny_fs)) == [path.name], "no partial backup, no temporary file"


# --- clear answers -------------------------------------------------------------------------------


def test_vmbackup_conf_refuses_a_dict_value_naming_the_key(tmp_path, local_inventory):
    path = tmp_path / "vmbackup.conf"
    path.write_text("[SnapshotThread]\ntimeout = 10\n")
    proc, res = run(tmp_path, local_inventory, CONF, path, test_settings={"timeout": {"a": 1}})
    assert proc.returncode != 0
    assert "'timeout'" in res["msg"] and "dict" in res["msg"]
    assert path.read_text() == "[SnapshotThread]\ntimeout = 10\n"
