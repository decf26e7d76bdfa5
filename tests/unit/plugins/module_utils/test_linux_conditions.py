"""Unit tests of plugins/module_utils/_linux_conditions.py and the xfs/btrfs part of _linux_fs.py.

Files are real files under tmp_path (a fake root and /sys/class/net); commands are fakes.
"""

from __future__ import annotations

import json
import os

from ansible_collections.vmbackup.azure.plugins.module_utils import _linux_conditions as lc
from ansible_collections.vmbackup.azure.plugins.module_utils._linux_fs import (
    evaluate_extfs,
    mountstoskip,
    parse_btrfs_device_stats,
    parse_btrfs_scrub_status,
    read_btrfs_health,
)
from hypothesis import given, settings
from hypothesis import strategies as st


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def fake_sys_net(tmp_path, names, enslaved=()):
    sys_net = tmp_path / "sys"
    for index, name in enumerate(names, start=2):
        (sys_net / name / "device").mkdir(parents=True)
        (sys_net / name / "ifindex").write_text(f"{index}\n")
        if name in enslaved:
            (sys_net / name / "master").mkdir()
    (sys_net / "lo").mkdir(parents=True)
    return str(sys_net)


def test_dhcp_from_every_network_stack(tmp_path):
    root = str(tmp_path / "root")
    sys_net = fake_sys_net(tmp_path, ["eth0", "eth1", "eth2", "eth3", "eth4", "eth5"], enslaved=["eth5"])
    write(f"{root}/etc/network/interfaces", "auto eth0\niface eth0 inet static\n  address 10.0.0.4/24\n")
    write(f"{root}/etc/network/interfaces.d/eth1", "iface eth1 inet dhcp\n")
    write(f"{root}/run/systemd/network/10-netplan-eth2.network", "[Match]\nName=eth2\n\n[Network]\nDHCP=ipv4\n")
    write(
        f"{root}/etc/NetworkManager/system-connections/e3.nmconnection",
        "[connection]\ninterface-name=eth3\n[ipv4]\nmethod=manual\naddress1=10.0.0.5/24\n",
    )
    write(f"{root}/etc/sysconfig/network-scripts/ifcfg-eth4", 'DEVICE=eth4\nBOOTPROTO="none"\nIPADDR=10.0.0.6\n')
    write(f"{root}/var/lib/dhcp/dhclient.eth4.leases", "lease {}\n")
    found = {n["name"]: n for n in lc.gather_dhcp(root=root, sys_net=sys_net)}
    assert set(found) == {"eth0", "eth1", "eth2", "eth3", "eth4"}, "lo and an enslaved VF are not NICs to check"
    assert found["eth0"]["method"] == "static"
    assert found["eth1"]["method"] == "dhcp"
    assert found["eth2"]["method"] == "dhcp"
    assert found["eth3"]["method"] == "static"
    assert found["eth4"]["method"] == "dhcp", "a lease wins over a stale static file"
    finding = lc.evaluate_linux_dhcp({"conditions": {"nics": list(found.values())}})
    assert finding["status"] == "fail"
    assert "eth0" in finding["detail"] and "eth3" in finding["detail"]
    assert all(a["allowed"] is False and a["disruptive"] for a in finding["actions"])


def test_dhcp_unknown_is_not_a_failure(tmp_path):
    sys_net = fake_sys_net(tmp_path, ["eth0"])
    nics = lc.gather_dhcp(root=str(tmp_path / "empty"), sys_net=sys_net)
    assert nics == [{"name": "eth0", "method": "unknown", "sources": []}]
    finding = lc.evaluate_linux_dhcp({"conditions": {"nics": nics}})
    assert finding["status"] == "pass" and "could not tell" in finding["detail"]


def test_dns_resolution_is_bounded_and_reported():
    def resolver(name, port, proto=0):
        if name == "slow.example":
            import time

            time.sleep(2)
        if name == "good.example":
            return [(2, 1, 6, "", ("10.1.2.3", port))]
        raise OSError(-2, "Name or service not known")

    results = lc.resolve_names(["good.example", "bad.example", "slow.example"], timeout=0.3, resolver=resolver)
    assert [r["resolved"] for r in results] == [True, False, False]
    assert results[2]["error"] == "timed out"
    finding = lc.evaluate_linux_dns({"conditions": {"dns": results}})
    assert finding["status"] == "fail" and "bad.example" in finding["fix"] and "good.example" not in finding["detail"]
    assert lc.evaluate_linux_dns({"conditions": {"dns": results[:1]}})["status"] == "pass"


def test_resources():
    stat = "cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4\n"
    assert lc.parse_proc_stat_cpu(stat) == (200, 1000)
    mem = lc.parse_meminfo("MemTotal:       1000 kB\nMemAvailable:     50 kB\n")
    assert mem == {"MemTotal": 1000, "MemAvailable": 50}
    busy = {"conditions": {"resources": {"cpu_percent": 97.0, "memory_percent": 95.0, "sample_seconds": 1}}}
    finding = lc.evaluate_linux_resources(busy, {"threshold": 90})
    assert finding["status"] == "fail" and "CPU 97" in finding["detail"] and "memory 95" in finding["detail"]
    assert lc.evaluate_linux_resources(busy, {"threshold": 99})["status"] == "pass"
    assert lc.evaluate_linux_resources(busy, {"threshold": "x"})["status"] == "error"
    real = lc.gather_resources(0.05)
    assert 0 <= real["cpu_percent"] <= 100 and 0 < real["memory_percent"] < 100


def status_file(status="error", code="1", message="Snapshot failed: UserErrorFsFreezeFailed", seq_item=None):
    return json.dumps(
        [
            {
                "version": "1.0",
                "timestampUTC": "2026-01-01T00:00:00Z",
                "status": {
                    "name": "Microsoft.Azure.RecoveryServices.VMSnapshotLinux",
                    "operation": "Enable",
                    "status": status,
                    "code": code,
                    "formattedMessage": {"lang": "en-US", "message": message},
                    "substatus": [],
                },
            }
        ]
    )


def test_newest_status_by_sequence_number(tmp_path):
    lib = tmp_path / "waagent"
    old = lib / "Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9100.0" / "status"
    new = lib / "Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9200.0" / "status"
    write(str(old / "10.status"), status_file("success", "0", "ok"))
    write(str(old / "9.status"), status_file("success", "0", "ok"))
    write(str(new / "2.status"), status_file("success", "0", "ok"))
    write(str(old / "11.status"), status_file())
    found = lc.newest_status(str(lib))
    assert found["sequence"] == 11 and found["count"] == 4
    assert found["handler"].endswith("9100.0")
    finding = lc.evaluate_linux_extension_status({"conditions": {"extension_status": found}})
    assert finding["status"] == "fail"
    assert "code 1" in finding["detail"] and "UserErrorFsFreezeFailed" in finding["detail"]
    assert finding["error_code"] == "SnapshotExtensionLoadFailed"
    empty = lc.newest_status(str(tmp_path / "none"))
    assert lc.evaluate_linux_extension_status({"conditions": {"extension_status": empty}})["status"] == "not_applicable"


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=10),
            lambda children: (
                st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
            ),
            max_leaves=12,
        ).map(json.dumps),
    )
)
def test_status_evaluation_never_raises(content):
    data = {"found": True, "path": "/x/1.status", "sequence": 1, "content": content}
    finding = lc.evaluate_linux_extension_status({"conditions": {"extension_status": data}})
    assert finding["status"] in ("pass", "fail", "error")
    assert finding["error_code"] == "SnapshotExtensionLoadFailed"


def test_conditions_skipped_off_azure_and_missing_sections():
    skipped = {"conditions": {"skipped": "not an Azure VM"}}
    for evaluate in (lc.evaluate_linux_dhcp, lc.evaluate_linux_dns, lc.evaluate_linux_resources):
        assert evaluate(skipped)["status"] == "not_applicable"
        assert evaluate({})["status"] == "error"


# ---------------------------------------------------------------------------------------------
# xfs / btrfs (report only) and mountstoskip in the freeze check

BTRFS_STATS = """[/dev/sdc].write_io_errs    0
[/dev/sdc].read_io_errs     0
[/dev/sdc].flush_io_errs    0
[/dev/sdc].corruption_errs  3
[/dev/sdc].generation_errs  0
"""
SCRUB = """UUID:             8c339b62
Scrub started:    Thu Nov 26 01:11:15 2026
Status:           finished
Duration:         0:00:00
Error summary:    csum=3
  Corrected:      0
  Uncorrectable:  3
"""


def test_btrfs_parsers_and_health():
    assert parse_btrfs_device_stats(BTRFS_STATS)["/dev/sdc"]["corruption_errs"] == 3
    scrub = parse_btrfs_scrub_status(SCRUB)
    assert scrub == {"ran": True, "status": "finished", "summary": "csum=3", "errors_found": True}
    assert parse_btrfs_scrub_status("UUID: x\n\tno stats available\n")["ran"] is False

    def run(argv):
        return (0, BTRFS_STATS if argv[1] == "device" else SCRUB, "")

    health = read_btrfs_health(run, "/data")
    assert health["health"] == "errors" and "corruption_errs=3" in health["detail"] and "csum=3" in health["detail"]


def fs_facts(conf=None):
    return {
        "ext_filesystems": [
            {"mountpoint": "/", "device": "/dev/sda1", "fstype": "ext4", "state": "clean", "is_root": True},
            {"mountpoint": "/scratch", "device": "/dev/sdd", "fstype": "ext4", "state": "not clean", "journal": True},
        ],
        "other_filesystems": [
            {"mountpoint": "/data", "device": "/dev/sdc", "fstype": "xfs", "health": "shutdown", "detail": "EIO"},
            {"mountpoint": "/srv", "device": "/dev/sde", "fstype": "btrfs", "health": "ok", "detail": ""},
        ],
        "vmbackup_conf": {"path": "/etc/azure/vmbackup.conf", "exists": conf is not None, "content": conf},
    }


def test_xfs_shutdown_is_reported_never_repaired():
    finding = evaluate_extfs(fs_facts(), {"repair": True})
    assert finding["status"] == "fail"
    offline = [a for a in finding["actions"] if a["action"] == "repair_offline"]
    assert offline and offline[0]["mountpoint"] == "/data" and offline[0]["allowed"] is False
    assert "xfs_repair" in finding["fix"]


def test_mountstoskip_mounts_are_not_a_finding():
    conf = "[SnapshotThread]\nmountstoskip = /data,/scratch\n"
    assert mountstoskip({"content": conf, "path": "p"}) == (["/data", "/scratch"], "")
    finding = evaluate_extfs(fs_facts(conf), {"repair": True})
    assert finding["status"] == "pass", finding
    assert "mountstoskip" in finding["detail"]
    # the extension ignores a file that does not parse, and so does the check
    broken = conf + "MountsToSkip = /data\n"
    skip, note = mountstoskip({"content": broken, "path": "p"})
    assert skip == [] and "does not parse" in note
    assert evaluate_extfs(fs_facts(broken), {})["status"] == "fail"
    # exact mount points, as the extension compares them
    assert evaluate_extfs(fs_facts("[SnapshotThread]\nmountstoskip = /data/\n"), {})["status"] == "fail"


def test_lib_dir_is_read_as_the_agent_reads_waagent_conf(tmp_path):
    """Lines end at \\n only for the agent: after a lone CR, Lib.Dir is part of the previous value (default)."""
    conf = tmp_path / "waagent.conf"
    conf.write_bytes(b"Logs.Verbose=n\rLib.Dir=/elsewhere\n")
    assert lc.agent_lib_dir(str(conf)) == "/var/lib/waagent"
    conf.write_bytes(b'Lib.Dir = "/srv/agent" # moved\n')
    assert lc.agent_lib_dir(str(conf)) == "/srv/agent"
