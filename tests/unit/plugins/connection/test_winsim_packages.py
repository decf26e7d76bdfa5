"""Simulator pieces of the agent/installer/conditions work: win_package, msiexec, the new probe sections.

Module runs go through the real runner with the manifest ansible-core builds, so argument
validation follows the installed ansible.windows docs, and returned keys are checked against them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import pytest
import yaml
from ansible.plugins.loader import init_plugin_loader
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_probe import SECTIONS, build_script
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim import docs, manifest, probe, runner
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.state import HostState
from winsim_payload import real_in_data

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
STATES = os.path.join(ROOT, "tests", "sim", "states")
GENERIC_KEYS = {"changed", "failed", "msg", "skipped", "invocation", "diff", "warnings"}
VC_EXE = "C:\\Packages\\Plugins\\Microsoft.Azure.RecoveryServices.VMSnapshot\\1.0.9222.0\\vcredist2013_x64.exe"
VC_ID = "{ef6b00ec-13e1-4c25-9064-b2f383cb8412}"
AGENT_MSI = "C:\\Install\\WindowsAzureVmAgent.msi"


@pytest.fixture(scope="module", autouse=True)
def _loader():
    init_plugin_loader([os.path.join(ROOT, ".collections")])


def run(state_path, module, check=False, **args):
    req = manifest.parse(real_in_data(module, {**args, "_ansible_check_mode": check}))
    result, _check = runner.run_module(req, str(state_path))
    documented = set(docs.module_doc(module).returns) | GENERIC_KEYS
    assert not set(result) - documented, set(result) - documented
    return result


def copy(tmp_path, name):
    dest = tmp_path / name
    shutil.copyfile(os.path.join(STATES, name), dest)
    return dest


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_win_package_exe_by_product_id(tmp_path):
    state = copy(tmp_path, "installer_msiserver_disabled.yml")
    before = sha(state)
    args = {
        "path": VC_EXE,
        "product_id": "{042d26ef-3dbe-4c25-95d3-4c1b11b235a7}",
        "arguments": "/install /quiet /norestart",
    }
    res = run(state, "ansible.windows.win_package", check=True, **args)
    assert res["changed"] is True and sha(state) == before
    res = run(state, "ansible.windows.win_package", **args)
    assert res["changed"] is True and res["rc"] == 0 and res["reboot_required"] is False
    products = yaml.safe_load(state.read_text())["installed_products"]
    assert VC_ID in products and "2013" in products[VC_ID]["name"]
    # win_package itself is idempotent only by the product_id it is given
    by_installed_id = dict(args)
    by_installed_id["product_id"] = VC_ID
    assert run(state, "ansible.windows.win_package", **by_installed_id)["changed"] is False


def test_win_package_failures(tmp_path):
    state = copy(tmp_path, "installer_msiserver_disabled.yml")
    res = run(state, "ansible.windows.win_package", path=VC_EXE, product_id=VC_ID, arguments="/install")
    assert res["failed"] and "would wait for user input" in res["msg"]
    res = run(state, "ansible.windows.win_package", path="C:\\nope.exe", product_id=VC_ID)
    assert res["failed"] and res["msg"] == "the file at the path 'C:\\nope.exe' cannot be reached"
    assert run(state, "ansible.windows.win_package", check=True, path="C:\\nope.exe", product_id=VC_ID)["changed"]
    res = run(state, "ansible.windows.win_package", path="https://nowhere.invalid/x.msi")
    assert res["failed"] and "(404) Not Found" in res["msg"]
    res = run(state, "ansible.windows.win_package", state="present")
    assert res["failed"] and "missing: path" in res["msg"]
    data = yaml.safe_load(state.read_text())
    data["files"][VC_EXE]["package"]["rc"] = 1603
    state.write_text(yaml.safe_dump(data))
    res = run(state, "ansible.windows.win_package", path=VC_EXE, product_id=VC_ID, arguments="/quiet")
    assert res["failed"] and res["rc"] == 1603 and "unexpected rc" in res["msg"]


def test_win_package_msi_effects_url_and_absent(tmp_path):
    state = copy(tmp_path, "agent_outdated.yml")
    res = run(state, "ansible.windows.win_package", path=AGENT_MSI)
    assert res["changed"] is True
    data = yaml.safe_load(state.read_text())
    assert data["files"]["C:\\WindowsAzure\\Packages\\WaAppAgent.exe"]["version"] == "2.7.41491.1102"
    assert data["registry"]["HKLM:\\SOFTWARE\\Microsoft\\Virtual Machine\\Guest"]["GuestAgentVersion"]["data"] == (
        "2.7.41491.1102"
    )
    assert run(state, "ansible.windows.win_package", path=AGENT_MSI)["changed"] is False  # product code in the MSI
    pid = data["files"][AGENT_MSI]["package"]["product_id"]
    # a URL whose product is installed is not downloaded (the URL is unknown to this host: no 404)
    assert run(state, "ansible.windows.win_package", path="https://x.invalid/a.msi", product_id=pid)["changed"] is False
    assert run(state, "ansible.windows.win_package", state="absent", product_id=pid)["changed"] is True
    assert pid not in yaml.safe_load(state.read_text())["installed_products"]

    missing = copy(tmp_path, "agent_missing.yml")
    url = "https://agent.example.invalid/WindowsAzureVmAgent.msi"
    assert run(missing, "ansible.windows.win_package", path=url)["changed"] is True
    services = yaml.safe_load(missing.read_text())["services"]
    assert services["WindowsAzureGuestAgent"]["state"] == "running"


def test_msiexec_regserver_and_check_mode_skip(tmp_path):
    state = copy(tmp_path, "installer_msiserver_unregistered.yml")
    res = run(state, "ansible.windows.win_command", check=True, argv=["msiexec.exe", "/regserver"])
    assert res.get("skipped") is True
    assert run(state, "ansible.windows.win_command", argv=["msiexec.exe", "/unregister"])["rc"] == 0
    assert "msiserver" not in yaml.safe_load(state.read_text())["services"]
    assert run(state, "ansible.windows.win_command", argv=["msiexec.exe", "/regserver"])["rc"] == 0
    assert yaml.safe_load(state.read_text())["services"]["msiserver"]["start_mode"] == "manual"
    res = run(state, "ansible.windows.win_command", argv=["msiexec.exe", "/x", "{1}"])
    assert res["failed"] and "not modelled" in res["msg"]


def _render(name, section, parameters=None):
    state = HostState.load(os.path.join(STATES, name))
    return probe.probe_output(state, build_script({section: SECTIONS[section]}), parameters)[section]


def test_renderers_follow_the_state_and_the_parameters():
    dns = _render(
        "conditions_dns_unresolved.yml",
        "dns",
        {"AzureEndpointNames": ["management.azure.com", "login.microsoftonline.com"]},
    )
    assert [(d["name"], d["resolved"]) for d in dns] == [
        ("management.azure.com", False),
        ("login.microsoftonline.com", True),
    ]
    assert _render("healthy.yml", "dns", {}) == []  # no names given, none resolved
    events = _render("conditions_wsb_failing.yml", "events", {"BackupEventDays": 7})
    assert events["days"] == 7 and len(events["backup_failures"]) == 1  # the 30-day-old one and id 1000 left out
    assert len(_render("conditions_wsb_failing.yml", "events", {"BackupEventDays": 60})["backup_failures"]) == 2
    status = _render("conditions_extension_error.yml", "extension_status")
    assert status["path"].endswith("\\1.0.9222.0\\Status\\41.status")
    assert json.loads(status["content"])[0]["status"]["status"] == "error"
    assert _render("agent_missing.yml", "extension_status")["found"] is False
    installer = _render("installer_msiserver_disabled.yml", "installer")
    assert installer == {"vcredist_products": [], "snapshot_plugins": [{"version": "1.0.9222.0", "vcredist": True}]}
    assert _render("agent_outdated.yml", "agent")["waappagent_file_version"] == "2.6.1198.700"
    assert _render("conditions_high_load.yml", "resources")["cpu_percent"] == 97.5
    assert _render("conditions_dhcp_static.yml", "nics")[0]["dhcp_enabled"] is False


def test_probe_parameters_travel_beside_a_constant_script():
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_probe import PROBE_SCRIPT, probe_args

    params = {"AzureEndpointNames": ["a.example"], "BackupEventDays": 3}
    assert probe_args() == {"script": PROBE_SCRIPT, "depth": probe_args()["depth"]}  # backward compatible
    assert probe_args(params)["script"] == PROBE_SCRIPT and probe_args(params)["parameters"] == params
    assert "a.example" not in PROBE_SCRIPT and "management.azure.com" not in PROBE_SCRIPT
    for section in ("agent", "installer", "nics", "dns", "resources", "events", "extension_status"):
        assert f"# section: {section}\n" in PROBE_SCRIPT
    assert "$AzureEndpointNames" in SECTIONS["dns"] and "$BackupEventDays" in SECTIONS["events"]
