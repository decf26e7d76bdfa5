"""Fault modes of the Windows simulator: the shapes real Windows produces when broken."""

from __future__ import annotations

import os

import pytest
import yaml
from ansible.plugins.loader import init_plugin_loader
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_probe import (
    PROBE_DEPTH,
    SECTIONS,
    ProbeError,
    build_script,
    probe_from_result,
)
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim import docs, manifest, runner

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
STATES = os.path.join(ROOT, "tests", "sim", "states")
GENERIC_KEYS = {"changed", "failed", "msg", "skipped", "invocation", "diff", "warnings", "deprecations", "exception"}


@pytest.fixture(scope="module", autouse=True)
def _loader():
    init_plugin_loader([os.path.join(ROOT, ".collections")])


@pytest.fixture
def host(tmp_path):
    def make(template="healthy.yml", **faults):
        with open(os.path.join(STATES, template), encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        if faults:
            data["faults"] = faults
        path = tmp_path / template
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return str(path)

    return make


def run(state_path, module, check=False, **args):
    req = manifest.Request(
        kind="module",
        module=module,
        args={**args, "_ansible_check_mode": check, "_ansible_module_name": module},
    )
    result, _check = runner.run_module(req, state_path)
    documented = set(docs.module_doc(module).returns) | GENERIC_KEYS
    assert not set(result) - documented, set(result) - documented
    return result


def probe_result(path, *sections, check=False):
    chosen = {s: SECTIONS[s] for s in sections} if sections else SECTIONS
    return run(path, "ansible.windows.win_powershell", check=check, script=build_script(chosen), depth=PROBE_DEPTH)


def test_probe_throws_has_the_real_win_powershell_failure_shape(host):
    result = probe_result(host(probe_throws="Access is denied"), "services")
    assert result["failed"] is True and "msg" not in result
    assert result["output"] == [] and result["changed"] is False
    (err,) = result["error"]
    assert err["error_details"] is None and err["exception"]["message"] == "Access is denied"
    with pytest.raises(ProbeError, match="Access is denied"):
        probe_from_result(result)


def test_section_throws_records_the_section_error(host):
    probe = probe_from_result(probe_result(host(section_throws={"services": "boom"}), "services", "vssadmin"))
    assert probe["section_errors"] == {"services": "boom"}
    assert "services" not in probe and probe["vssadmin"]["rc"] == 0


# The services section as the probe read it with WMI (WMI + ServiceController dependencies), kept here to
# prove the simulator reproduces what it did on a broken host.
OLD_SERVICES = build_script(
    {
        "services": "# section: services\ntry {\n"
        "    foreach ($svc in @(Get-CimInstance -ClassName Win32_Service -ErrorAction SilentlyContinue)) {\n"
        "        $dependencies = @($controller.ServicesDependedOn | ForEach-Object { [string]$_.Name })\n"
        "    }\n}\ncatch {\n    $probe.section_errors['services'] = [string]$_\n}\n"
    }
)


def _services_probe(path, script=None):
    script = script or build_script({"services": SECTIONS["services"]})
    return probe_from_result(run(path, "ansible.windows.win_powershell", script=script, depth=PROBE_DEPTH))


def test_wmi_broken_no_longer_empties_the_services_section(host):
    # Get-CimInstance ... -ErrorAction SilentlyContinue on a broken WMI returned []
    path = host("com_msdtc_wrong_account.yml", wmi_broken=True)
    assert _services_probe(path, OLD_SERVICES)["services"] == []  # what the old section read
    probe = _services_probe(path)
    assert "services" not in probe["section_errors"]
    names = {s["name"] for s in probe["services"]}
    assert {"MSDTC", "COMSysApp", "RpcSs"} <= names
    # CIM sections fail loudly (-ErrorAction Stop): an error, not an empty list
    nics = probe_from_result(probe_result(path, "nics", "resources"))
    assert "0x80041010" in nics["section_errors"]["nics"] and "nics" not in nics


def test_the_old_empty_list_is_an_error_for_every_service_fix():
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._com import evaluate_com
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_installer import evaluate_installer

    empty = {"services": [], "installer": {"vcredist_products": [], "snapshot_plugins": []}}
    findings = (evaluate_com(empty, {"reinstall_msdtc": True}), evaluate_installer(empty, {"reregister_msi": True}))
    for finding in findings:
        assert finding["status"] == "error" and "lists no services" in finding["detail"]
        assert not [a for a in finding["actions"] if a.get("allowed")]


def test_one_broken_service_does_not_hide_the_others(host):
    # a dependency that no longer exists threw in ServicesDependedOn for the whole section
    with open(os.path.join(STATES, "com_msdtc_wrong_account.yml"), encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    data["services"]["SQLWriter"]["dependencies"] = ["RemovedDriver"]
    data["faults"] = {"access_denied": ["HKLM:\\SYSTEM\\CurrentControlSet\\Services\\BITS"]}
    path = host()
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle, allow_unicode=True)
    assert "ServicesDependedOn" in _services_probe(path, OLD_SERVICES)["section_errors"]["services"]
    probe = _services_probe(path)
    by = {s["name"]: s for s in probe["services"]}
    assert by["SQLWriter"]["dependencies"] == ["RemovedDriver"] and by["SQLWriter"]["error"] is None
    assert by["BITS"]["error"] == "Requested registry access is not allowed." and by["BITS"]["start_mode"] is None
    assert by["MSDTC"]["sid"] == "S-1-5-18" and by["MSDTC"]["error"] is None


def test_a_fix_never_plans_from_a_service_it_could_not_read(host):
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._com import evaluate_com

    path = host("com_msdtc_wrong_account.yml", access_denied=["HKLM:\\SYSTEM\\CurrentControlSet\\Services\\MSDTC"])
    finding = evaluate_com(_services_probe(path), {"restart": True, "reinstall_msdtc": True})
    assert finding["status"] == "error" and "service MSDTC could not be read" in finding["detail"]


def test_localized_account_is_stored_localized_and_compared_by_sid(host):
    # win_service stores the localized NTAccount name (SCManager.cs Account setter);
    # the probe resolves the SID on the host, so the COM check passes after one run on de-DE
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._com import evaluate_com

    with open(os.path.join(STATES, "com_msdtc_wrong_account.yml"), encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    data["locale"] = "de-DE"
    path = host()
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle, allow_unicode=True)
    first = run(path, "ansible.windows.win_service", name="MSDTC", username="S-1-5-20")
    assert first["changed"] is True
    with open(path, encoding="utf-8") as handle:
        assert yaml.safe_load(handle)["services"]["MSDTC"]["username"] == "NT-AUTORITÄT\\NETZWERKDIENST"
    assert run(path, "ansible.windows.win_service", name="MSDTC", username="S-1-5-20")["changed"] is False
    probe = _services_probe(path)
    msdtc = next(s for s in probe["services"] if s["name"] == "MSDTC")
    assert msdtc["sid"] == "S-1-5-20" and msdtc["username"] == "NT-AUTORITÄT\\NETZWERKDIENST"
    finding = evaluate_com(probe)
    assert "logs on as" not in finding["detail"], finding


def test_acl_access_denied_is_a_section_error_not_an_empty_sddl(host):
    # Get-Acl's non-terminating error became an empty SDDL
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._machinekeys import evaluate_machinekeys

    mk = "C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys"
    probe = probe_from_result(probe_result(host("machinekeys_extra_principals.yml", access_denied=[mk]),
                                           "machinekeys_acl", "certificates_my"))  # fmt: skip
    assert "unauthorized" in probe["section_errors"]["machinekeys_acl"]
    finding = evaluate_machinekeys(probe, {"reset_acl": True})
    assert finding["status"] == "error" and not [a for a in finding["actions"] if a.get("allowed")]


def test_probe_reads_fail_loudly_and_null_load_is_not_zero():
    # -ErrorAction Stop / -Encoding UTF8; a null LoadPercentage is skipped, not 0 %
    assert "Get-Acl -LiteralPath $mkPath -ErrorAction Stop" in SECTIONS["machinekeys_acl"]
    assert "-Raw -Encoding UTF8" in SECTIONS["extension_status"]
    assert "Where-Object { $null -ne $_.LoadPercentage }" in SECTIONS["resources"]


def _state(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_starting_a_disabled_service_fails(host):
    path = host("com_comsysapp_disabled.yml")
    result = run(path, "ansible.windows.win_service", name="COMSysApp", state="started")
    assert result["failed"] is True and "cannot be started" in result["msg"]
    # configuration first, state last (win_service.ps1): enabling and starting in one call works
    ok = run(path, "ansible.windows.win_service", name="COMSysApp", start_mode="manual", state="started")
    assert ok["changed"] is True and _state(path)["services"]["COMSysApp"]["state"] == "running"


def test_whatif_comes_before_the_running_dependents_refusal(host):
    # Service.cs: ShouldProcess (false under -WhatIf) is asked before DoStopService refuses
    path = host()
    check = run(path, "ansible.windows.win_service", check=True, name="RpcSs", state="restarted")
    assert check["changed"] is True and not check.get("failed")
    real = run(path, "ansible.windows.win_service", name="RpcSs", state="restarted")
    assert real["failed"] is True and "dependent services" in real["msg"]


def test_service_that_does_not_stop_in_time(host):
    path = host(service_timeout={"CryptSvc": "stop"})
    result = run(path, "ansible.windows.win_service", name="CryptSvc", state="restarted")
    assert result["failed"] is True and "without a timeout" in result["msg"]
    assert _state(path)["services"]["CryptSvc"]["state"] == "running"


def test_writer_re_registers_late_or_never(host):
    with open(os.path.join(STATES, "vss_system_writer_timeout_zh-TW.yml"), encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    system = next(w for w in data["vss_writers"] if w["name"] == "System Writer")
    path = host()
    for late, listed in ((2, [False, False, True]), ("never", [False, False, False])):
        system["reregister"] = late
        with open(path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(data, handle, allow_unicode=True)
        run(path, "ansible.windows.win_service", name="CryptSvc", state="restarted", force_dependent_services=True)
        seen = []
        for _round in listed:
            out = probe_from_result(probe_result(path, "vssadmin"))["vssadmin"]["stdout"]
            seen.append("System Writer" in out)
        assert seen == listed, late
