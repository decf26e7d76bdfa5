"""Simulator emulations of win_acl, win_acl_inheritance, win_owner, win_certificate_store, msdtc, manage-bde,
win_service start failures and the machinekeys_acl / certificates_my / bitlocker probe sections."""

from __future__ import annotations

import os
import shutil

import pytest
import yaml
from ansible.plugins.loader import init_plugin_loader
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_probe import SECTIONS, build_script
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim import docs, manifest, runner

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
STATES = os.path.join(ROOT, "tests", "sim", "states")
MK = "C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys"
PASSWORD = "111111-222222-333333-444444-555555-666666-000011-123453"
GENERIC_KEYS = {"changed", "failed", "msg", "skipped", "invocation", "diff", "warnings"}


@pytest.fixture(scope="module", autouse=True)
def _loader():
    init_plugin_loader([os.path.join(ROOT, ".collections")])


@pytest.fixture
def host(tmp_path):
    def make(template):
        path = tmp_path / template
        shutil.copyfile(os.path.join(STATES, template), path)
        return str(path)

    return make


def run(state_path, module, check=False, diff=False, **args):
    req = manifest.Request(
        kind="module",
        module=module,
        args={**args, "_ansible_check_mode": check, "_ansible_diff": diff, "_ansible_module_name": module},
    )
    result, _check = runner.run_module(req, state_path)
    documented = set(docs.module_doc(module).returns) | GENERIC_KEYS
    assert not set(result) - documented, set(result) - documented
    return result


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def sddl(path):
    return load(path)["acls"][MK]["sddl"]


def probe(path, *sections):
    out = run(path, "ansible.windows.win_powershell", script=build_script({s: SECTIONS[s] for s in sections}), depth=8)
    return out["output"][0]


def test_win_acl_matches_like_dotnet(host):
    path = host("machinekeys_extra_principals.yml")
    # Users' entry is (A;OICI;FA;;;BU): a rule without the inheritance flags does not match it
    res = run(
        path,
        "ansible.windows.win_acl",
        path=MK,
        user="S-1-5-32-545",
        type="allow",
        rights="FullControl",
        inherit="None",
        state="absent",
    )
    assert res == {"changed": False}
    res = run(
        path,
        "ansible.windows.win_acl",
        path=MK,
        user="BUILTIN\\Users",
        type="allow",
        rights="FullControl",
        state="absent",
    )  # inherit defaults to ContainerInherit, ObjectInherit on a directory
    assert res["changed"] is True and "(A;OICI;FA;;;BU)" not in sddl(path)
    # allow rules get Synchronize: the eight special rights without it still give 0x12019f
    eight = (
        "ListDirectory,CreateFiles,CreateDirectories,ReadExtendedAttributes,WriteExtendedAttributes,"
        "ReadAttributes,WriteAttributes,ReadPermissions"
    )
    run(
        path,
        "ansible.windows.win_acl",
        path=MK,
        user="Everyone",
        type="allow",
        rights="FullControl",
        inherit="None",
        state="absent",
    )
    res = run(path, "ansible.windows.win_acl", path=MK, user="S-1-1-0", type="allow", rights=eight, inherit="None")
    assert res["changed"] is True and "(A;;0x12019f;;;WD)" in sddl(path)
    assert (
        run(
            path,
            "ansible.windows.win_acl",
            path=MK,
            user="S-1-1-0",
            type="allow",
            rights=eight + ",Synchronize",
            inherit="None",
        )["changed"]
        is False
    )


def test_win_acl_check_mode_and_errors(host):
    path = host("machinekeys_extra_principals.yml")
    before = sddl(path)
    res = run(
        path,
        "ansible.windows.win_acl",
        check=True,
        path=MK,
        user="S-1-5-32-545",
        type="allow",
        rights="FullControl",
        state="absent",
    )
    if docs.supports_check_mode(docs.module_doc("ansible.windows.win_acl")):
        assert res["changed"] is True and sddl(path) == before
    else:  # ansible.windows 3.3.0 (ansible 12): win_acl declares no check-mode support, so it is skipped
        assert res.get("skipped") is True and sddl(path) == before
    bad_user = run(path, "ansible.windows.win_acl", path=MK, user="CONTOSO\\nobody", type="allow", rights="Read")
    assert bad_user["failed"] and "is not a valid user or group" in bad_user["msg"]
    bad_path = run(path, "ansible.windows.win_acl", path="C:\\nope", user="S-1-1-0", type="allow", rights="Read")
    assert bad_path["msg"] == "C:\\nope file or directory does not exist on the host"
    bad_rights = run(path, "ansible.windows.win_acl", path=MK, user="S-1-1-0", type="allow", rights="Bogus")
    assert bad_rights["failed"] and "'Bogus' is not a FileSystemRights value" in bad_rights["msg"]
    bad_choice = run(path, "ansible.windows.win_acl", path=MK, user="S-1-1-0", type="maybe", rights="Read")
    assert bad_choice["failed"] and "value of type must be one of" in bad_choice["msg"]


def test_win_acl_inheritance_and_owner(host):
    path = host("machinekeys_extra_principals.yml")
    res = run(
        path,
        "ansible.windows.win_acl_inheritance",
        check=True,
        diff=True,
        path="%SystemDrive%\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys",
        state="absent",
    )
    assert res == {"changed": True, "diff": {"before": {"state": "present"}, "after": {"state": "absent"}}}
    assert "ID;" in sddl(path)
    run(path, "ansible.windows.win_acl_inheritance", path=MK, state="absent", reorganize=False)
    assert "ID;" not in sddl(path) and sddl(path).startswith("O:BAG:SYD:PAI")
    assert run(path, "ansible.windows.win_acl_inheritance", path=MK)["changed"] is False
    assert run(path, "ansible.windows.win_owner", path=MK, user="S-1-5-18")["changed"] is True
    assert sddl(path).startswith("O:SYG:SY")
    assert run(path, "ansible.windows.win_owner", path=MK, user="NT AUTHORITY\\SYSTEM")["changed"] is False


def test_win_certificate_store_absent(host):
    path = host("machinekeys_extra_principals.yml")
    thumb = "5c0ffee0123456789abcdef0123456789abcdef0"
    args = {"thumbprint": thumb, "store_location": "LocalMachine", "store_name": "My", "state": "absent"}
    assert run(path, "ansible.windows.win_certificate_store", check=True, **args)["changed"] is True
    res = run(path, "ansible.windows.win_certificate_store", **args)
    assert res == {"changed": True, "thumbprints": [thumb]}
    assert run(path, "ansible.windows.win_certificate_store", **args) == {"changed": False, "thumbprints": [thumb]}
    thumbs = [c["thumbprint"] for c in load(path)["certificates"]["LocalMachine\\My"]]
    assert thumb.upper() not in thumbs and len(thumbs) == 2
    missing = run(path, "ansible.windows.win_certificate_store", state="absent")
    assert missing["failed"] and "path, thumbprint" in missing["msg"]


def test_probe_sections(host):
    out = probe(host("bitlocker_locked_data.yml"), "machinekeys_acl", "certificates_my", "bitlocker")
    assert out["machinekeys_acl"] == {"path": MK, "exists": True, "sddl": "O:SYG:SYD:PAI(A;;0x12019f;;;WD)(A;;FA;;;BA)"}
    assert {"thumbprint", "subject", "issuer", "not_after"} == set(out["certificates_my"][0])
    assert out["certificates_my"][0]["not_after"] == "2027-01-01T00:00:00.0000000Z"
    vols = {v["mount_point"]: v for v in out["bitlocker"]["volumes"]}
    assert vols["D:"]["lock_status"] == "Locked" and "recovery_password" not in vols["D:"]
    assert PASSWORD not in repr(out)


def test_manage_bde_unlock_and_off(host):
    path = host("bitlocker_locked_data.yml")
    off = run(path, "ansible.windows.win_command", argv=["manage-bde", "-off", "D:"])
    assert off["rc"] == 1 and "locked by BitLocker" in off["stdout"]
    wrong = run(
        path,
        "ansible.windows.win_command",
        argv=["manage-bde", "-unlock", "D:", "-RecoveryPassword", "000011-" * 7 + "000011"],
    )
    assert wrong["rc"] == 1 and "not valid" in wrong["stdout"] and "000011-000011" not in wrong["stdout"]
    skipped = run(
        path, "ansible.windows.win_command", check=True, argv=["manage-bde", "-unlock", "D:", "-rp", PASSWORD]
    )
    assert skipped["skipped"] is True
    ok = run(path, "ansible.windows.win_command", argv=["manage-bde", "-unlock", "D:", "-RecoveryPassword", PASSWORD])
    assert ok["rc"] == 0 and PASSWORD not in ok["stdout"]
    assert run(path, "ansible.windows.win_command", argv=["manage-bde", "-off", "d:"])["rc"] == 0
    d = next(v for v in load(path)["bitlocker_volumes"] if v["mount_point"] == "D:")
    assert (d["lock_status"], d["protection_status"], d["volume_status"]) == ("Unlocked", "Off", "DecryptionInProgress")


def test_start_fails_then_msdtc_reinstall(host):
    path = host("com_msdtc_start_fails.yml")
    assert run(path, "ansible.windows.win_service", check=True, name="MSDTC", state="started")["changed"] is True
    failed = run(path, "ansible.windows.win_service", name="MSDTC", state="started")
    assert failed["failed"] and "cannot be started" in failed["msg"]
    uninstalled = run(path, "ansible.windows.win_command", argv=["msdtc", "-uninstall"])
    assert uninstalled["rc"] == 0 and "MSDTC" not in load(path)["services"]
    assert run(path, "ansible.windows.win_command", argv=["msdtc", "-install"])["rc"] == 0
    msdtc = load(path)["services"]["MSDTC"]
    assert msdtc["username"] == "NT AUTHORITY\\NetworkService" and "start_fails" not in msdtc
    assert run(path, "ansible.windows.win_service", name="MSDTC", state="started")["changed"] is True


def test_msdtc_uninstall_refuses_while_running_and_service_account_by_sid(host):
    path = host("com_msdtc_wrong_account.yml")
    assert run(path, "ansible.windows.win_command", argv=["msdtc", "-uninstall"])["rc"] == 1
    res = run(path, "ansible.windows.win_service", name="MSDTC", username="S-1-5-20")
    assert res["changed"] is True
    assert load(path)["services"]["MSDTC"]["username"] == "NT AUTHORITY\\NETWORK SERVICE"
    # compared by SID, as win_service does
    assert (
        run(path, "ansible.windows.win_service", name="MSDTC", username="NT AUTHORITY\\NetworkService")["changed"]
        is False
    )
