"""Evaluators of ExtensionSnapshotFailedCOM, ExtensionConfigParsingFailure, ExtensionSnapshotBitlockerError."""

from __future__ import annotations

import pytest
from ansible_collections.vmbackup.azure.plugins.plugin_utils._bitlocker import (
    RecoveryPasswordError,
    evaluate_bitlocker,
    normalize_recovery_passwords,
)
from ansible_collections.vmbackup.azure.plugins.plugin_utils._checks import CHECKS
from ansible_collections.vmbackup.azure.plugins.plugin_utils._com import assess_com, evaluate_com
from ansible_collections.vmbackup.azure.plugins.plugin_utils._machinekeys import (
    DEFAULT_SDDL,
    evaluate_machinekeys,
    is_extension_certificate,
    plan_machinekeys,
    subject_cn,
)

PASSWORD = "111111-222222-333333-444444-555555-666666-000011-123453"
MK = "C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys"


def test_registered_in_checks():
    for code in ("ExtensionSnapshotFailedCOM", "ExtensionConfigParsingFailure", "ExtensionSnapshotBitlockerError"):
        assert CHECKS[code][0] == "windows"


# ----------------------------------------------------------------------------- COM


RPCSS = {"name": "RpcSs", "state": "running", "start_mode": "auto", "username": "NT AUTHORITY\\NetworkService"}


def _services(com=None, dtc=None):
    out = [dict(RPCSS)]  # every Windows host runs RPC: a list without a running service is implausible
    if com is not False:
        out.append(
            {"name": "COMSysApp", "state": "stopped", "start_mode": "manual", "username": "LocalSystem", **(com or {})}
        )
    if dtc is not False:
        out.append(
            {
                "name": "MSDTC",
                "state": "running",
                "start_mode": "auto",
                "username": "NT AUTHORITY\\NetworkService",
                **(dtc or {}),
            }
        )
    return {"services": out}


def test_com_pass_with_demand_start_comsysapp_and_sid_spelling():
    assert evaluate_com(_services())["status"] == "pass"
    assert evaluate_com(_services(dtc={"username": "S-1-5-20"}))["status"] == "pass"
    assert evaluate_com(_services(dtc={"username": "NT AUTHORITY\\NETWORK SERVICE"}))["status"] == "pass"


def test_com_wrong_account_is_disruptive_and_needs_restart():
    finding = evaluate_com(_services(com={"state": "running"}, dtc={"username": "LocalSystem"}))
    assert finding["status"] == "fail"
    assert "LocalSystem" in finding["detail"]
    by = {(a["action"], a["service"]): a for a in finding["actions"]}
    assert by[("set_logon_account", "MSDTC")]["allowed"] is False
    assert by[("set_logon_account", "MSDTC")]["disruptive"] is True
    assert by[("restart_service", "COMSysApp")]["allowed"] is False
    assert by[("reinstall_msdtc", "MSDTC")]["allowed"] is False
    assert "would set MSDTC logon account" in finding["fix"]
    assert "msdtc -uninstall, msdtc -install" in finding["fix"]
    allowed = evaluate_com(_services(com={"state": "running"}, dtc={"username": "LocalSystem"}), {"restart": True})
    assert all(a["allowed"] for a in allowed["actions"] if a["action"] != "reinstall_msdtc")
    assert allowed["fix"].startswith("set MSDTC logon account to NT AUTHORITY\\NetworkService (S-1-5-20)")


def test_com_disabled_comsysapp_is_fixed_without_opt_in():
    finding = evaluate_com(_services(com={"start_mode": "disabled"}))
    assert finding["status"] == "fail"
    steps = [(a["action"], a["service"], a["allowed"], a["disruptive"]) for a in finding["actions"]]
    assert steps[:2] == [("set_start_mode", "COMSysApp", True, False), ("start_service", "COMSysApp", True, False)]


def test_com_demand_start_msdtc_stopped_passes():
    # MSDTC is demand-start on several Windows Server versions
    assert evaluate_com(_services(dtc={"state": "stopped", "start_mode": "manual"}))["status"] == "pass"
    disabled = evaluate_com(_services(dtc={"state": "stopped", "start_mode": "disabled"}))
    assert disabled["status"] == "fail" and "MSDTC is disabled" in disabled["detail"]


def test_com_stopped_msdtc_starts_then_last_resort():
    finding, plan = assess_com(_services(dtc={"state": "stopped"}), {"reinstall_msdtc": True})
    assert [s["action"] for s in plan["steps"]] == ["start_service", "start_service"]
    assert plan["last_resort"]["allowed"] is True
    assert finding["actions"][-1]["conditional"] is True


def test_com_missing_services_and_errors():
    finding = evaluate_com(_services(dtc=False))
    assert finding["status"] == "fail" and finding["actions"][0]["action"] == "install_msdtc"
    assert evaluate_com(_services(com=False))["status"] == "fail"
    assert evaluate_com({})["status"] == "error"
    assert evaluate_com({"services": [], "section_errors": {"services": "boom"}})["status"] == "error"


# ----------------------------------------------------------------------------- MachineKeys


def _mk(sddl, certs=()):
    return {"machinekeys_acl": {"path": MK, "exists": True, "sddl": sddl}, "certificates_my": list(certs)}


CRP = {"thumbprint": "aa11", "subject": "CN=Windows Azure CRP Certificate Generator"}
CLASSIC = {"thumbprint": "BB22", "subject": "CN=Windows Azure Service Management for Extensions"}
OTHER = {"thumbprint": "CC33", "subject": "CN=Windows Azure CRP Certificate Generator Copy, O=Contoso"}


def test_subject_cn_and_extension_certificates():
    assert subject_cn('CN="Doe, John", O=X') == "Doe, John"
    assert subject_cn("O=X, CN=Name") == "Name"
    assert is_extension_certificate(CRP) and is_extension_certificate(CLASSIC)
    assert not is_extension_certificate(OTHER)
    assert not is_extension_certificate({"subject": "CN=host", "issuer": "CN=Windows Azure CRP Certificate Generator"})


def test_machinekeys_default_passes_and_leaves_certificates():
    finding = evaluate_machinekeys(_mk(DEFAULT_SDDL, [CRP]), {"reset_acl": True, "delete_certificates": True})
    assert finding["status"] == "pass"
    assert "AA11" in finding["detail"] and finding["actions"] == []
    # ACE order inside the explicit allow entries does not matter
    assert evaluate_machinekeys(_mk("O:SYG:SYD:PAI(A;;FA;;;BA)(A;;0x12019f;;;WD)"))["status"] == "pass"


def test_machinekeys_plan_steps_and_opt_ins():
    sddl = "O:BAG:SYD:AI(A;;FA;;;WD)(A;OICI;FA;;;BU)(A;;FA;;;BA)(A;OICIID;FA;;;SY)"
    off = evaluate_machinekeys(_mk(sddl, [CRP, CLASSIC, OTHER]))
    assert off["status"] == "fail"
    assert [a["action"] for a in off["actions"]] == [
        "set_owner",
        "disable_inheritance",
        "remove_ace",
        "remove_ace",
        "add_ace",
        "delete_certificate",
        "delete_certificate",
    ]
    assert not any(a["allowed"] for a in off["actions"]) and all(a["disruptive"] for a in off["actions"])
    assert "AA11" in off["fix"] and "BB22" in off["fix"] and "CC33" not in off["fix"]
    assert "not allowed: set reset_acl" in off["fix"]
    acl_only = evaluate_machinekeys(_mk(sddl, [CRP]), {"reset_acl": True, "delete_certificates": False})
    assert [a["allowed"] for a in acl_only["actions"]] == [True] * 5 + [False]
    cert_only = evaluate_machinekeys(_mk(sddl, [CRP]), {"delete_certificates": True})
    assert cert_only["actions"][-1]["reason"].startswith("certificates are deleted only together")
    users = off["actions"][3]["args"]
    assert users == {
        "path": MK,
        "user": "S-1-5-32-545",
        "type": "allow",
        "rights": "FullControl",
        "inherit": "ContainerInherit, ObjectInherit",
        "propagation": "None",
        "state": "absent",
    }
    add = off["actions"][4]["args"]
    assert add["user"] == "S-1-1-0" and add["inherit"] == "None" and add["state"] == "present"


def test_machinekeys_plan_re_adds_a_default_entry_a_removal_strips():
    # win_acl state=absent is .NET RemoveAccessRule: removing (A;OICI;FA;;;WD) also strips the default
    # Everyone entry, so the plan adds it back after the removal, and says why.
    finding = evaluate_machinekeys(
        _mk("O:SYG:SYD:PAI(A;;0x12019f;;;WD)(A;OICI;FA;;;WD)(A;;FA;;;BA)"), {"reset_acl": True}
    )
    assert [a["action"] for a in finding["actions"]] == ["remove_ace", "add_ace"]
    assert finding["actions"][1]["args"]["user"] == "S-1-1-0"
    assert "re-add (A;;0x12019f;;;WD)" in finding["fix"] and "RemoveAccessRule" in finding["fix"]
    # a removal of another account cannot strip a default entry: nothing is re-added
    other = evaluate_machinekeys(
        _mk("O:SYG:SYD:PAI(A;;0x12019f;;;WD)(A;OICI;FA;;;BU)(A;;FA;;;BA)"), {"reset_acl": True}
    )
    assert [a["action"] for a in other["actions"]] == ["remove_ace"]


def test_machinekeys_entries_win_acl_cannot_match_are_manual():
    for ace in (
        "(A;;CCDCLC;;;BU)",
        "(A;;GA;;;BU)",
        "(A;OICIIONP;FA;;;BU)",
        "(OA;;FA;00000000-0000-0000-0000-000000000001;;BU)",
    ):
        plan = plan_machinekeys(
            {"path": MK, "sddl": f"O:SYG:SYD:PAI{ace}(A;;0x12019f;;;WD)(A;;FA;;;BA)"}, [], {"reset_acl": True}
        )
        assert plan["manual"] and not plan["reset_allowed"], ace
        assert plan["manual"][0]["hint"].endswith("*S-1-5-32-545")
    # a deny entry without Synchronize is matchable
    plan = plan_machinekeys({"path": MK, "sddl": "O:SYG:SYD:PAI(D;;CCDC;;;BU)(A;;0x12019f;;;WD)(A;;FA;;;BA)"}, [])
    assert not plan["manual"] and plan["steps"][0]["args"]["type"] == "deny"


def test_machinekeys_group_is_reported_only_and_errors():
    finding = evaluate_machinekeys(_mk("O:SYG:BAD:PAI(A;;0x12019f;;;WD)(A;;FA;;;BA)"))
    assert finding["status"] == "pass" and "primary group" in finding["detail"]
    assert evaluate_machinekeys(_mk("garbage"))["status"] == "error"
    assert (
        evaluate_machinekeys({"machinekeys_acl": {"exists": False, "path": MK}, "certificates_my": []})["status"]
        == "error"
    )
    assert evaluate_machinekeys({"certificates_my": []})["status"] == "error"
    assert (
        evaluate_machinekeys({"machinekeys_acl": {}, "section_errors": {"certificates_my": "x"}})["status"] == "error"
    )


# ----------------------------------------------------------------------------- BitLocker


def _bl(*volumes, available=True, ade=False):
    return {"bitlocker": {"available": available, "volumes": list(volumes), "azure_disk_encryption": ade}}


LOCKED = {
    "mount_point": "D:",
    "volume_type": "Data",
    "lock_status": "Locked",
    "volume_status": "FullyEncrypted",
    "protection_status": "Unknown",
}
OPEN = {"mount_point": "C:", "lock_status": "Unlocked", "volume_status": "FullyEncrypted", "protection_status": "On"}


def test_bitlocker_statuses():
    assert evaluate_bitlocker(_bl(available=False))["status"] == "not_applicable"
    assert evaluate_bitlocker(_bl(OPEN))["status"] == "pass"
    assert evaluate_bitlocker({})["status"] == "error"
    finding = evaluate_bitlocker(_bl(OPEN, LOCKED))
    assert finding["status"] == "fail" and "D: (Data, FullyEncrypted" in finding["detail"]
    assert [(a["action"], a["allowed"]) for a in finding["actions"]] == [
        ("unlock_volume", False),
        ("turn_off_bitlocker", False),
    ]
    fix = "would unlock D: (Unlock-BitLocker -MountPoint D: -RecoveryPassword <recovery password of D:>)"
    assert fix in finding["fix"]


def test_bitlocker_opt_ins_need_a_password_and_never_show_it():
    no_pw = evaluate_bitlocker(_bl(LOCKED), {"unlock": True})
    assert no_pw["actions"][0]["reason"] == "no recovery password given for D: (recovery_passwords)"
    unlock = evaluate_bitlocker(_bl(LOCKED), {"unlock": True, "recovery_passwords": {"d:\\": PASSWORD}})
    assert [a["allowed"] for a in unlock["actions"]] == [True, False]
    decrypt = evaluate_bitlocker(_bl(LOCKED), {"decrypt": True, "recovery_passwords": {"D:": PASSWORD}})
    assert [a["allowed"] for a in decrypt["actions"]] == [True, True]
    assert PASSWORD not in repr(unlock) + repr(decrypt)


def test_bitlocker_off_refused_where_azure_disk_encryption_manages_the_volume():
    # ADE volumes are decrypted through Azure, never on the guest; unknown = refused
    options = {"decrypt": True, "recovery_passwords": {"D:": PASSWORD}}
    for probe in (_bl(LOCKED, ade=True), {"bitlocker": {"available": True, "volumes": [LOCKED]}}):
        off = evaluate_bitlocker(probe, options)["actions"][1]
        assert off["action"] == "turn_off_bitlocker" and off["allowed"] is False
    assert "through Azure" in evaluate_bitlocker(_bl(LOCKED, ade=True), options)["actions"][1]["reason"]


@pytest.mark.parametrize(
    "bad",
    [
        "111111-222222",  # too short
        "111111-222222-333333-444444-555555-666666-000011-123454",  # last block not a multiple of 11
        "999999-222222-333333-444444-555555-666666-000011-123453",  # block >= 720896
        12345,
    ],
)
def test_recovery_password_validation_names_the_volume_not_the_value(bad):
    with pytest.raises(RecoveryPasswordError, match=r"recovery_passwords\[E:\]") as info:
        normalize_recovery_passwords({"e:": bad})
    assert str(bad) not in str(info.value)
    finding = evaluate_bitlocker(_bl(LOCKED), {"recovery_passwords": {"e:": bad}})
    assert finding["status"] == "error" and str(bad) not in finding["detail"]
