"""The error-code catalog is the one source of truth: check it against the spec, the doc, the roles
and the generated docs, and exercise the lookup/filter plugins through real Ansible runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from ansible_collections.vmbackup.azure.plugins.module_utils import _catalog as cat

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "tests", "unit", "data")
FIXES_COPY = os.path.join(DATA, "fixes.md")
ANCHORS_COPY = os.path.join(DATA, "seed-anchors.txt")
# These copies are checked against the team's shared/ folder by tools/check-spec-copy (.ci/run).

IMPLEMENTED = {
    "ExtensionFailedVssWriterInBadState": "extension_failed_vss_writer_in_bad_state",
    "UserErrorFsFreezeFailed": "user_error_fs_freeze_failed",
    "ExtensionVCRedistInstallationFailure": "extension_vc_redist_installation_failure",
    "UserErrorVmProvisioningStateFailed": "user_error_vm_provisioning_state_failed",
    "AzureVmOffline": "azure_vm_offline",
    "NoVmAgent": "no_vm_agent",
    "VmAgentNotRunning": "vm_agent_not_running",
    "ExtensionSnapshotFailedNoSecureNetwork": "extension_snapshot_failed_no_secure_network",
    "ExtensionFailedTimeoutVMNetworkUnresponsive": "extension_failed_timeout_vm_network_unresponsive",
    "SqlServerSnapshotDelay": "sql_server_snapshot_delay",
    "UserErrorVmNotInDesirableState": "user_error_vm_not_in_desirable_state",
    "ExtensionSnapshotFailedCOM": "extension_snapshot_failed_com",
    "ExtensionConfigParsingFailure": "extension_config_parsing_failure",
    "ExtensionSnapshotBitlockerError": "extension_snapshot_bitlocker_error",
    "ExtensionFailedSnapshotLimitReachedError": "extension_failed_snapshot_limit_reached_error",
    "ExtensionStuckInDeletionState": "extension_stuck_in_deletion_state",
    "SnapshotExtensionLoadFailed": "snapshot_extension_load_failed",
}
# Implemented fixes that only set registry values: nothing disruptive to declare.
NOT_DISRUPTIVE = {
    "ExtensionSnapshotFailedNoSecureNetwork",
    "ExtensionFailedTimeoutVMNetworkUnresponsive",
    "SqlServerSnapshotDelay",
}

# Rows of fixes.md without a backticked code -> catalog id. A new row in fixes.md fails the test
# until it is added here and to the catalog.
ROWS_WITHOUT_CODE = {
    ('"No VM agent on the VM" (table)', "W/L"): "NoVmAgent",
    ("VM agent current and running", "W"): "VmAgentNotRunning",
    ("VM agent current and running", "L"): "VmAgentNotRunning",
    ("SQL Server backups delay the snapshot", "W, where SQL Server is installed"): "SqlServerSnapshotDelay",
    ("Another backup product fails, not Azure Backup", "W"): "OtherBackupProductFailing",
    ("Another backup service running", "W/L"): "OtherBackupServiceRunning",
    ("Snapshot extension fails to load", "W/L"): "SnapshotExtensionLoadFailed",
    ("CPU or memory above 90 %", "W/L"): "HighResourceUsage",
    ("More than four VMs of one cloud service start backup together", "C"): "TooManyVmsPerCloudService",
    ("Guest DHCP must be enabled", "W/L"): "GuestDhcpDisabled",
    ("Name resolution and reach of Azure endpoints", "W/L"): "AzureEndpointUnreachable",
    ("VM shut down from RDP shows a wrong state", "C"): "VmStateWrongAfterRdpShutdown",
}
LETTER_OS = {"W": "windows", "L": "linux", "C": "control"}
CODE_RE = re.compile(r"`([A-Z][A-Za-z0-9]+)`")


# ---- fixes.md parsing ------------------------------------------------------------------------
def _read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _sections(text):
    """{heading: body} for the '## ' sections."""
    out, current = {}, None
    for line in text.splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            out[current] = []
        elif current:
            out[current].append(line)
    return {k: "\n".join(v) for k, v in out.items()}


def _table_rows(body):
    rows = []
    for line in body.splitlines():
        if not line.startswith("|") or set(line) <= set("|-: "):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        rows.append(cells)
    return rows[1:]  # drop the header row


def _fixes_rows():
    sections = _sections(_read(FIXES_COPY))
    with_fix = next(v for k, v in sections.items() if k.startswith("Error codes with a fix"))
    conditions = next(v for k, v in sections.items() if k.startswith("Conditions without their own code"))
    report_only = next(v for k, v in sections.items() if k.startswith("Errors that are report only"))
    return _table_rows(with_fix), _table_rows(conditions), report_only


def _letters(where):
    return {LETTER_OS[x] for x in re.findall(r"\b([WLC])\b", where)}


def _stored_anchors():
    return [line for line in _read(ANCHORS_COPY).splitlines() if line and not line.startswith("#")]


def test_every_fix_row_is_in_the_catalog():
    rows = _fixes_rows()[0]
    assert len(rows) >= 14
    for cells in rows:
        first, where = cells[0], cells[1]
        codes = CODE_RE.findall(first)
        if not codes:
            entry = cat.lookup(ROWS_WITHOUT_CODE[(first, where)])
        else:
            entries = {cat.lookup(code).code for code in codes}
            assert len(entries) == 1, f"codes of one row must share one entry: {codes} -> {entries}"
            entry = cat.lookup(codes[0])
            assert set(entry.aliases) | {entry.code} == set(codes), first
        for number in re.findall(r"\((\d{6})\)", first):
            assert cat.lookup(number) is entry
            assert int(number) in entry.numeric_codes
        anchor = re.search(r"anchor `([^`]+)`", first)
        if anchor:
            assert entry.anchor == anchor.group(1)
        elif "(table)" in first or not codes:
            assert entry.anchor == cat.A_COMMON_ERRORS, entry.code
        assert _letters(where) <= set(entry.os), (entry.code, where, entry.os)
        assert not entry.report_only and entry.role, entry.code


def test_every_condition_row_is_in_the_catalog():
    rows = _fixes_rows()[1]
    assert len(rows) >= 11
    for cells in rows:
        code = ROWS_WITHOUT_CODE.get((cells[0], cells[1]))
        assert code, f"condition row not mapped to a catalog id: {cells[0]!r} ({cells[1]})"
        entry = cat.lookup(code)
        assert entry.kind == "condition"
        assert not entry.official
        assert _letters(cells[1]) <= set(entry.os), code
        fix = cells[3]
        expected = (fix.startswith("Report") and "opt-in" not in fix) or code in DELIBERATELY_REPORT_ONLY
        assert entry.report_only == expected, code


# Conditions whose spec allows an opt-in fix that the collection deliberately does not automate
# (each entry's field_note says why).
DELIBERATELY_REPORT_ONLY = {"GuestDhcpDisabled"}


def test_deliberately_report_only_entries_say_why():
    for code in DELIBERATELY_REPORT_ONLY:
        entry = cat.lookup(code)
        assert entry.report_only and entry.role is None and entry.field_note, code


def test_every_report_only_error_is_in_the_catalog():
    text = _fixes_rows()[2]
    codes = CODE_RE.findall(text)
    assert {"CopyingVHDsFromBackUpVaultTakingLongTime", "ResourceNotFound", "BCMV2VMNotFound"} <= set(codes)
    for code in codes:
        assert cat.lookup(code).report_only, code
    for code, number in re.findall(r"`([A-Za-z0-9]+)`\s*\((\d{6})\)", text):
        assert cat.lookup(number) is cat.lookup(code)
    # the "Jobs" cancel messages, every "Restore" message, backups over 12 h / restores over 6 h
    for anchor in (cat.A_JOBS, cat.A_RESTORE, cat.A_TAKES_TIME):
        found = [e for e in cat.CATALOG if e.anchor == anchor]
        assert found and all(e.report_only for e in found), anchor
    assert len([e for e in cat.CATALOG if e.anchor == cat.A_JOBS]) == 4
    assert len([e for e in cat.CATALOG if e.anchor == cat.A_RESTORE]) == 11


def test_anchors_exist_in_the_seed():
    anchors = set(_stored_anchors())
    for entry in cat.CATALOG:
        assert entry.anchor in anchors, entry.code
        assert entry.doc_url == f"https://learn.microsoft.com/azure/backup/backup-azure-vms-troubleshoot#{entry.anchor}"
        assert entry.doc_url_zh_tw == (
            f"https://learn.microsoft.com/zh-tw/azure/backup/backup-azure-vms-troubleshoot#{entry.anchor}"
        )


# ---- the catalog's own rules -----------------------------------------------------------------
def test_entries_are_well_formed():
    codes = [e.code for e in cat.CATALOG]
    assert len(codes) == len(set(codes))
    for e in cat.CATALOG:
        assert e.kind in cat.KINDS, e.code
        assert e.os and set(e.os) <= set(cat.OSES), e.code
        assert e.title and e.check and e.fix, e.code
        assert all(isinstance(n, int) for n in e.numeric_codes), e.code
        assert all(isinstance(s, str) and s for s in e.disruptive_steps), e.code
        if e.report_only:
            assert e.role is None and not e.implemented, e.code
        else:
            assert e.role == cat.snake_case(e.code), e.code
        d = e.as_dict()
        json.dumps(d)
        assert list(d) == list(e) and d["code"] == e["code"] == e.code
        assert d["status"] in ("implemented", "planned", "report_only")


def test_implemented_is_exactly_the_built_roles():
    assert sorted(cat.implemented_codes()) == sorted(IMPLEMENTED)  # several engineers add rows: order-free
    for code, role in IMPLEMENTED.items():
        assert cat.roles()[code] == role
        assert cat.lookup(code).disruptive_steps or code in NOT_DISRUPTIVE, code
        assert not (cat.lookup(code).disruptive_steps and code in NOT_DISRUPTIVE), code


def test_field_notes_are_carried():
    assert "isanysnapshotfailed" in cat.lookup("ExtensionFailedSnapshotLimitReachedError").field_note
    assert "O:SYG:SYD:PAI(A;;0x12019f;;;WD)(A;;FA;;;BA)" in cat.lookup("ExtensionConfigParsingFailure").field_note
    assert "writer id" in cat.lookup("ExtensionFailedVssWriterInBadState").field_note


def test_snake_case():
    assert cat.snake_case("ExtensionFailedTimeoutVMNetworkUnresponsive") == (
        "extension_failed_timeout_vm_network_unresponsive"
    )
    assert cat.snake_case("ExtensionSnapshotFailedCOM") == "extension_snapshot_failed_com"
    assert cat.snake_case("ExtensionVCRedistInstallationFailure") == "extension_vc_redist_installation_failure"


# ---- roles and catalog can't drift -----------------------------------------------------------
def test_implemented_roles_exist_with_argument_specs():
    for code in cat.implemented_codes():
        role = cat.lookup(code).role
        spec = os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")
        assert os.path.isfile(spec), f"{code}: role {role} missing {os.path.relpath(spec, ROOT)}"


def test_every_role_directory_is_in_the_catalog():
    roles_dir = os.path.join(ROOT, "roles")
    known = set(cat.roles().values())
    present = [d for d in os.listdir(roles_dir) if os.path.isdir(os.path.join(roles_dir, d))]
    unknown = sorted(set(present) - known)
    assert not unknown, f"roles not named in plugins/module_utils/_catalog.py: {unknown}"
    for role in present:
        code = next(c for c, r in cat.roles().items() if r == role)
        assert cat.lookup(code).implemented, f"roles/{role} exists: mark {code} implemented in the catalog"


def test_generated_docs_are_current():
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "gen_docs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


# ---- lookup / normalize ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("term", "code"),
    [
        ("VmNotInDesirableState", "UserErrorVmNotInDesirableState"),
        ("vmnotindesirablestate", "UserErrorVmNotInDesirableState"),
        ("EXTENSIONINSTALLATIONFAILEDMDTC", "ExtensionSnapshotFailedCOM"),
        ("ExtensionInstallationFailedCOM", "ExtensionSnapshotFailedCOM"),
        (380008, "AzureVmOffline"),
        ("380008", "AzureVmOffline"),
        (" 320001 ", "ResourceNotFound"),
        (400094, "ResourceNotFound"),
        ("bcmv2vmnotfound", "ResourceNotFound"),
        ("user_error_fs_freeze_failed", "UserErrorFsFreezeFailed"),
    ],
)
def test_lookup(term, code):
    assert cat.lookup(term).code == code


@pytest.mark.parametrize("term", ["NoSuchCode", "", 123, None, True, ["AzureVmOffline"]])
def test_lookup_unknown_lists_valid_codes(term):
    with pytest.raises(KeyError) as info:
        cat.lookup(term)
    message = info.value.args[0]
    assert repr(term) in message
    assert all(code in message for code in cat.all_codes())


def test_normalize_codes():
    assert cat.normalize_codes(["VmNotInDesirableState", 380008, "UserErrorVmNotInDesirableState"]) == [
        "UserErrorVmNotInDesirableState",
        "AzureVmOffline",
    ]
    assert cat.normalize_codes("ExtensionFailedVssWriterInBadState, usererrorfsfreezefailed") == [
        "ExtensionFailedVssWriterInBadState",
        "UserErrorFsFreezeFailed",
    ]
    assert cat.normalize_codes([]) == [] and cat.normalize_codes(None) == []


def test_normalize_codes_unknown():
    with pytest.raises(ValueError) as info:
        cat.normalize_codes(["AzureVmOffline", "Typo1", 42])
    message = str(info.value)
    assert "'Typo1'" in message and "42" in message and "AzureVmOffline" not in message.split(";", maxsplit=1)[0]
    assert all(code in message for code in cat.all_codes())
    with pytest.raises(ValueError):
        cat.normalize_codes({"AzureVmOffline": 1})


def test_roles_and_all_codes():
    assert cat.all_codes()[0] == "ExtensionFailedVssWriterInBadState"
    roles = cat.roles()
    assert "ResourceNotFound" not in roles
    assert roles["AzureVmOffline"] == "azure_vm_offline"


def test_filter_functions():
    from ansible.errors import AnsibleFilterError
    from ansible_collections.vmbackup.azure.plugins.filter import error_codes

    filters = error_codes.FilterModule().filters()
    assert filters["normalize_error_codes"](["vmnotindesirablestate"]) == ["UserErrorVmNotInDesirableState"]
    assert filters["error_code_roles"](["UserErrorFsFreezeFailed", "SnapshotExtensionLoadFailed", 320001]) == [
        "user_error_fs_freeze_failed",
        "snapshot_extension_load_failed",
    ]
    assert filters["error_code_roles"]("SnapshotExtensionLoadFailed", implemented_only=False) == [
        "snapshot_extension_load_failed"
    ]
    assert filters["error_code_roles"]([380008]) == ["azure_vm_offline"]
    with pytest.raises(AnsibleFilterError, match="Nope"):
        filters["normalize_error_codes"](["Nope"])


# ---- through real Ansible runs ---------------------------------------------------------------
def _ansible_bin(name):
    path = os.path.join(ROOT, ".venv", "bin", name)
    if os.path.exists(path):
        return path
    found = shutil.which(name)
    assert found, f"{name} not installed: run `make setup`"
    return found


def _env():
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    return env


def _run_ansible(name, *args):
    """Run an ansible CLI from the repository root with its ansible.cfg; fail the test on a non-zero exit."""
    proc = subprocess.run(
        [_ansible_bin(name), *args], cwd=ROOT, env=_env(), capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_lookup_adhoc():
    proc = _run_ansible(
        "ansible",
        "localhost",
        "-i",
        "localhost,",
        "-c",
        "local",
        "-m",
        "ansible.builtin.debug",
        "-a",
        "msg={{ lookup('vmbackup.azure.error_code', '380008') }}",
    )
    result = json.loads(proc.stdout.split("=>", 1)[1])
    assert result["msg"]["code"] == "AzureVmOffline"
    assert result["msg"]["numeric_codes"] == [380008]


PLAYBOOK = r"""
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: One entry by alias
      ansible.builtin.assert:
        that:
          - lookup('vmbackup.azure.error_code', 'VmNotInDesirableState').code == 'UserErrorVmNotInDesirableState'
          - lookup('vmbackup.azure.error_code', 'UserErrorFsFreezeFailed', field='role')
            == 'user_error_fs_freeze_failed'
          - lookup('vmbackup.azure.error_code', 320001, 'AzureVmOffline', wantlist=True) | map(attribute='code') | list
            == ['ResourceNotFound', 'AzureVmOffline']
          - query('vmbackup.azure.error_code', field='code') | length == EXPECTED_COUNT
          - (['vmnotindesirablestate', 380008, 'AzureVmOffline'] | vmbackup.azure.normalize_error_codes)
            == ['UserErrorVmNotInDesirableState', 'AzureVmOffline']
          - ('ExtensionFailedVssWriterInBadState,UserErrorFsFreezeFailed,320001' | vmbackup.azure.error_code_roles)
            == ['extension_failed_vss_writer_in_bad_state', 'user_error_fs_freeze_failed']

    - name: Unknown code in the lookup (must fail; the failure is kept for the assert)
      block:
        - name: Look up an unknown code
          ansible.builtin.debug:
            msg: "{{ lookup('vmbackup.azure.error_code', 'NoSuchCode') }}"
      rescue:
        - name: Keep the lookup failure
          ansible.builtin.set_fact:
            bad_lookup: "{{ ansible_failed_result }}"

    - name: Unknown code in the filter (must fail; the failure is kept for the assert)
      block:
        - name: Normalize an unknown code
          ansible.builtin.debug:
            msg: "{{ ['AzureVmOffline', 'Typo'] | vmbackup.azure.normalize_error_codes }}"
      rescue:
        - name: Keep the filter failure
          ansible.builtin.set_fact:
            bad_filter: "{{ ansible_failed_result }}"

    - name: Both failed, naming the input and listing the valid codes
      ansible.builtin.assert:
        that:
          - bad_lookup is failed
          - "'NoSuchCode' in bad_lookup.msg"
          - "'UserErrorFsFreezeFailed' in bad_lookup.msg"
          - bad_filter is failed
          - "'Typo' in bad_filter.msg"
          - "'ExtensionFailedVssWriterInBadState' in bad_filter.msg"
"""


def test_plugins_in_a_playbook(tmp_path):
    playbook = tmp_path / "catalog.yml"
    playbook.write_text(PLAYBOOK.replace("EXPECTED_COUNT", str(len(cat.CATALOG))), encoding="utf-8")
    proc = _run_ansible("ansible-playbook", "-i", "localhost,", str(playbook))
    assert "failed=0" in proc.stdout
