"""The Linux fixes on a real Debian chroot host (tools/linux_rootfs.py, community.general.chroot).

- ExtensionFailedSnapshotLimitReachedError: an unparsable /etc/azure/vmbackup.conf is refused and
  nothing is written (the fix itself, --check, --diff, the backup and idempotence:
  molecule/extension_failed_snapshot_limit_reached_error).
- The scan on the same host: every Linux check in one remote execution, with DHCP, DNS and the
  extension's status file set up as files of the chroot (``/etc/nsswitch.conf`` ``hosts: files``
  keeps lookups local). The agent install from Debian's repository: molecule/vm_agent_not_running_linux.

Needs root; the chroot's base is built once (debootstrap from the Debian mirror) and cached.
"""

from __future__ import annotations

import json
import os
import sys

import pytest
import yaml
from conftest import ROOT, run_playbook, sha256, task_results

sys.path.insert(0, os.path.join(ROOT, "tools"))
import linux_rootfs  # noqa: E402

CONF_ROLE = """
- hosts: all
  gather_facts: false
  roles:
    - role: vmbackup.azure.extension_failed_snapshot_limit_reached_error
"""
SCAN = """
- hosts: all
  gather_facts: false
  tasks:
    - name: scan
      vmbackup.azure.backup_scan:
      check_mode: true
"""


def snapshot(root, paths):
    out = {}
    for rel in paths:
        path = os.path.join(root, rel.lstrip("/"))
        if os.path.exists(path):
            st = os.stat(path)
            out[rel] = (sha256(path), oct(st.st_mode), st.st_uid)
        else:
            out[rel] = None
    return out


@pytest.fixture(scope="module")
def chroot(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("chroot")
    host = linux_rootfs.up(str(workdir))
    try:
        yield host
    finally:
        assert linux_rootfs.down(str(workdir)) == []


def play(tmp_path, host, text, *args, extra=None, name="play.yml"):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"linux-chroot": host["inventory_vars"]}}}))
    path = tmp_path / name
    path.write_text(text)
    proc = run_playbook(inventory, path, *args, extra_vars=extra or {}, json_output=True)
    assert hasattr(proc, "json"), proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def test_unparsable_vmbackup_conf_is_refused_and_nothing_written(tmp_path, chroot):
    """Check mode, --diff, the backup and idempotence: molecule/extension_failed_snapshot_limit_reached_error."""
    root = chroot["root"]
    conf = os.path.join(root, "etc/azure/vmbackup.conf")
    os.makedirs(os.path.dirname(conf), exist_ok=True)
    with open(conf, "w", encoding="utf-8") as handle:
        handle.write("[SnapshotThread]\nmountstoskip = /a\nthis is not a setting\n")
    before = snapshot(root, ["/etc/azure/vmbackup.conf"])
    listing = sorted(os.listdir(os.path.dirname(conf)))
    proc = play(tmp_path, chroot, CONF_ROLE, extra={"extension_failed_snapshot_limit_reached_error_asr": True})
    res = task_results(proc.json, "vmbackup_conf")["linux-chroot"]
    assert proc.returncode != 0 and res.get("failed")
    assert "line 3" in res["msg"] and "Nothing was written" in res["msg"]
    assert res["finding"]["status"] == "fail" and res["finding"]["actions"][0]["allowed"] is False
    assert snapshot(root, ["/etc/azure/vmbackup.conf"]) == before
    assert sorted(os.listdir(os.path.dirname(conf))) == listing, "no backup, no temporary file left"
    os.unlink(conf)


def test_scan_reads_every_linux_check_in_one_execution(tmp_path, chroot):
    root = chroot["root"]

    def put(rel, text):
        path = os.path.join(root, rel.lstrip("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)

    put("/etc/network/interfaces", "auto eth0\niface eth0 inet static\n    address 10.1.0.4/24\n")
    put("/etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files\n")
    put("/etc/hosts", "127.0.0.1 localhost\n10.9.9.9 good.azure.test\n")
    status_dir = "/var/lib/waagent/Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9200.0/status"
    item = {
        "status": {
            "status": "error",
            "code": "400",
            "operation": "Enable",
            "formattedMessage": {"message": "UserErrorFsFreezeFailed: failed to freeze /data"},
        }
    }
    put(f"{status_dir}/3.status", json.dumps([dict(item, status=dict(item["status"], status="success"))]))
    put(f"{status_dir}/12.status", json.dumps([item]))
    put("/etc/azure/vmbackup.conf", "[SnapshotThread]\nMountsToSkip = /a\nmountstoskip = /b\n")
    extra = {
        "vmbackup_azure_only": False,
        "vm_agent_not_running_azure_only": False,
        "vmbackup_azure_endpoint_names": ["good.azure.test", "bad.azure.test"],
    }
    try:
        proc = play(tmp_path, chroot, SCAN, extra=extra, name="scan.yml")
    finally:
        for rel in ("/etc/network/interfaces", "/etc/azure/vmbackup.conf"):
            os.unlink(os.path.join(root, rel.lstrip("/")))
    res = task_results(proc.json, "backup_scan")["linux-chroot"]
    assert proc.returncode == 0, res
    assert res["remote_executions"] == 1
    by_code = {f["error_code"]: f for f in res["findings"]}
    assert by_code["GuestDhcpDisabled"]["status"] == "fail" and "eth0" in by_code["GuestDhcpDisabled"]["detail"]
    dns = by_code["AzureEndpointUnreachable"]
    assert dns["status"] == "fail" and "bad.azure.test" in dns["detail"] and "good.azure.test" not in dns["detail"]
    status = by_code["SnapshotExtensionLoadFailed"]
    assert status["status"] == "fail" and "12.status" in status["detail"] and "code 400" in status["detail"]
    assert by_code["ExtensionFailedSnapshotLimitReachedError"]["status"] == "fail"
    agent = by_code["VmAgentNotRunning"]
    assert agent["status"] == "fail" and "not installed" in agent["detail"] and "not opted in" in agent["fix"]
    assert by_code["HighResourceUsage"]["status"] in ("pass", "fail")
    assert "CPU" in by_code["HighResourceUsage"]["detail"]
    assert by_code["AzureVmOffline"]["error_code"] == "AzureVmOffline"
