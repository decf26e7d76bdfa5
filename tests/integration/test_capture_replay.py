"""playbooks/capture.yml on simulated hosts, then the capture as a simulated host: the scan replays it
exactly, the fixes work on it where the state model can express it."""

from __future__ import annotations

import os
import sys

import yaml
from conftest import ROOT, run_playbook

sys.path.insert(0, os.path.join(ROOT, "tools"))
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_probe import PROBE_SCRIPT  # noqa: E402
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.probe import probe_output  # noqa: E402
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.state import HostState  # noqa: E402
from winsim_driver import run_fix  # noqa: E402


def test_capture_then_replay(sim_fleet, tmp_path):
    inventory, states = sim_fleet(
        {"vss-tw": "vss_system_writer_timeout_zh-TW.yml", "mk": "machinekeys_extra_principals.yml"}
    )
    before = {h: p.read_bytes() for h, p in states.items()}
    out = tmp_path / "captures"
    proc = run_playbook(
        inventory,
        os.path.join(ROOT, "playbooks", "capture.yml"),
        extra_vars={"vmbackup_capture_dir": str(out), "vmbackup_capture_anonymize": False},
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert {h: p.read_bytes() for h, p in states.items()} == before  # read-only
    files = sorted(os.listdir(out))
    assert files == ["mk.yml", "vss-tw.yml"]

    capture_path = out / "vss-tw.yml"
    capture = yaml.safe_load(capture_path.read_text(encoding="utf-8"))
    assert capture["capture"] == "vmbackup.azure.windows_probe_capture" and capture["anonymized"] is False
    # a scan of the capture replays exactly what the host answered
    replay = probe_output(HostState.load(str(capture_path)), PROBE_SCRIPT, capture["probe"].get("parameters"))
    for name, value in capture["probe"].items():
        if name not in ("section_errors",):
            assert replay.get(name) == value, name

    # remediation on the capture (the state model: services and writers), then idempotent
    result, _host = run_fix("vss_writers", {"restart": True, "settle_timeout": 0}, str(capture_path))
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True and result["verified"] is True
    again, _host = run_fix("vss_writers", {"restart": True}, str(capture_path))
    assert again["changed"] is False and again["finding"]["status"] == "pass"

    # anonymized: the computer name and thumbprints are hashed everywhere
    proc = run_playbook(
        inventory,
        os.path.join(ROOT, "playbooks", "capture.yml"),
        extra_vars={"vmbackup_capture_dir": str(tmp_path / "anon")},
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    text = "".join((tmp_path / "anon" / name).read_text(encoding="utf-8") for name in os.listdir(tmp_path / "anon"))
    for host_state in states.values():
        data = yaml.safe_load(host_state.read_text(encoding="utf-8"))
        assert data["hostname"] not in text
        for cert in (data.get("certificates") or {}).get("LocalMachine\\My", []):
            assert cert["thumbprint"] not in text
