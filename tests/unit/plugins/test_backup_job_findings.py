"""backup_job_findings / backup_job_query / backup_job_host_result: failed Azure Backup jobs -> codes per host.

Both key shapes (camelCase from az/REST, snake_case from the SDK / azure_rm_backupjob_info), numeric
codes, whole-word matching, the newest failed job per VM, VM names that exist in several resource
groups, and nothing dropped silently (unmapped / unknown / skipped). Hypothesis: mangled job JSON
never crashes except with JobsError, and never yields a code the job does not name.
"""

from __future__ import annotations

import copy
import json
import os

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.vmbackup.azure.plugins.filter.backup_job_findings import (
    backup_job_findings,
    backup_job_host_result,
    backup_job_query,
)
from ansible_collections.vmbackup.azure.plugins.module_utils import _jobs
from ansible_collections.vmbackup.azure.plugins.module_utils._catalog import CATALOG
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VSS = "ExtensionFailedVssWriterInBadState"
FS = "UserErrorFsFreezeFailed"
SUB = "00000000-0000-0000-0000-000000000000"


def camel(name, vm, *, status="Failed", start="2026-03-02T22:30:11.4162712Z", details=None, container=None, **props):
    body = {"entityFriendlyName": vm, "status": status, "operation": "Backup", "startTime": start, **props}
    if details is not None:
        body["errorDetails"] = details
    if container:
        body["containerName"] = container
    return {
        "id": f"/subscriptions/{SUB}/resourceGroups/rg-b/providers/x/backupJobs/{name}",
        "name": name,
        "properties": body,
    }


def snake(name, vm, *, status="Failed", start="2026-03-02T22:30:11+00:00", details=None, container=None):
    body = {"entity_friendly_name": vm, "status": status, "operation": "Backup", "start_time": start}
    if details is not None:
        body["error_details"] = details
    if container:
        body["container_name"] = container
    return {"id": f"/x/backupJobs/{name}", "name": name, "properties": body}


INV = {"web01": {}, "db01": {}, "lnx01": {}}


def codes_of(result):
    return {host: item["codes"] for host, item in result["hosts"].items()}


# ---- the two key shapes -----------------------------------------------------------------------
def test_camel_and_snake_case_give_the_same_triage():
    camel_jobs = [
        camel("j1", "web01", details=[{"errorCode": VSS, "errorString": "x"}]),
        camel("j2", "lnx01", details=[{"errorCode": 0, "errorTitle": FS}]),
    ]
    snake_jobs = [
        snake("j1", "web01", details=[{"error_code": VSS, "error_string": "x"}]),
        snake("j2", "lnx01", details=[{"error_code": 0, "error_title": FS}]),
    ]
    a, b = backup_job_findings(camel_jobs, INV), backup_job_findings(snake_jobs, INV)
    assert codes_of(a) == codes_of(b) == {"web01": [VSS], "lnx01": [FS]}
    assert a["unmapped"] == b["unmapped"] == [] and a["unknown"] == b["unknown"] == []


def test_the_demo_file_and_its_snake_case_twin():
    with open(os.path.join(ROOT, "demo", "jobs-failed.json"), encoding="utf-8") as handle:
        jobs = json.load(handle)
    inv = {h: {} for h in ("win-sql-tw", "win-app-de", "win-web-ja", "win-ok-us", "lnx-data-01")}
    result = backup_job_findings(jobs, inv)
    assert codes_of(result) == {
        "win-sql-tw": [VSS],
        "win-app-de": [VSS],
        "win-web-ja": [VSS],
        "win-ok-us": [],
        "lnx-data-01": [FS],
    }
    assert [j["vm_name"] for j in result["unmapped"]] == ["db-legacy-07"]
    assert result["unmapped"][0]["codes"] == ["ResourceNotFound"]  # 320001
    assert [(j["vm_name"], j["unknown_codes"]) for j in result["unknown"]] == [("win-ok-us", ["999999"])]
    # the same jobs as a registered azure_rm_backupjob_info result (snake_case keys, under `jobs`)
    snake_jobs = {"changed": False, "jobs": [_to_snake(j) for j in jobs]}
    assert codes_of(backup_job_findings(snake_jobs, inv)) == codes_of(result)


def _to_snake(value):
    if isinstance(value, dict):
        return {
            (k if " " in k else _jobs.re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", k).lower()): _to_snake(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_to_snake(v) for v in value]
    return value


@pytest.mark.parametrize(
    "wrapper",
    [
        lambda jobs: jobs,
        lambda jobs: {"value": jobs, "nextLink": None},  # a REST page
        lambda jobs: {"changed": False, "status_code": 200, "response": jobs},  # azure_rm_resource_info
        lambda jobs: {"changed": False, "response": [{"value": jobs}]},  # a page inside response
        json.dumps,  # the file's text
    ],
    ids=["list", "rest-page", "resource-info", "resource-info-page", "json-text"],
)
def test_every_input_shape(wrapper):
    jobs = [camel("j1", "web01", details=[{"errorCode": VSS}])]
    assert codes_of(backup_job_findings(wrapper(jobs), INV)) == {"web01": [VSS]}


# ---- finding the code ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "details, extended, expected",
    [
        ([{"errorCode": 320001}], None, ["ResourceNotFound"]),
        ([{"errorCode": "400094"}], None, ["ResourceNotFound"]),
        ([{"errorCode": 380008}], None, ["AzureVmOffline"]),
        ([{"errorCode": "BCMV2VMNotFound"}], None, ["ResourceNotFound"]),  # an alias
        ([{"errorCode": "extensionfailedvsswriterinbadstate"}], None, [VSS]),  # any case
        ([{"errorString": f"The snapshot failed ({VSS}); see the doc."}], None, [VSS]),
        ([{"errorTitle": "Snapshot operation failed because VSS writers were in a bad state"}], None, [VSS]),
        ([{"errorString": "Virtual machine doesn\u2019t exist"}], None, ["ResourceNotFound"]),  # curly apostrophe
        ([], {"dynamicErrorMessage": f"Failed with {FS} on /data"}, [FS]),
        ([{"errorCode": 999999, "errorString": "mentions 380008 in passing"}], None, ["AzureVmOffline"]),
    ],
)
def test_codes_found_in_every_documented_field(details, extended, expected):
    job = camel("j1", "web01", details=details)
    if extended:
        job["properties"]["extendedInfo"] = extended
    assert backup_job_findings([job], INV)["hosts"]["web01"]["codes"] == expected


@pytest.mark.parametrize(
    "text",
    [
        f"{VSS}X happened",  # a longer word
        f"Pre{VSS} happened",
        "code 3200012 and 1320001",  # numbers inside longer numbers
        "error 320001x",
        "ResourceNotFoundException",
        "VSS writers were in a bad stately manner",  # the message must end on a word boundary
    ],
)
def test_only_whole_words_match(text):
    result = backup_job_findings([camel("j1", "web01", details=[{"errorString": text}])], INV)
    assert result["hosts"]["web01"]["codes"] == []
    assert result["hosts"]["web01"]["error"].startswith("Azure Backup job j1 failed with no error code")
    assert [j["job_id"] for j in result["unknown"]] == ["j1"]


def test_every_documented_message_names_only_its_own_code():
    """Some messages start with another code's message (the job-cancel ones): the longer match wins."""
    for entry in CATALOG:
        for message in entry.messages:
            assert _jobs.codes_in_text(message) == [entry.code], (entry.code, message)
    job = camel(
        "j", "web01", details=[{"errorString": "Backup failed to cancel the job: Wait until the job finishes."}]
    )
    assert backup_job_findings([job], INV)["hosts"]["web01"]["codes"] == ["JobCancelFailed"]


def test_unknown_named_code_is_reported_not_guessed():
    job = camel("j1", "web01", details=[{"errorCode": "UserErrorSomethingNew", "errorString": "It broke."}])
    result = backup_job_findings([job], INV)
    assert result["hosts"]["web01"]["codes"] == []
    assert result["hosts"]["web01"]["job"]["unknown_codes"] == ["UserErrorSomethingNew"]
    assert result["unknown"][0]["reason"] == "codes the catalog does not know: UserErrorSomethingNew"
    assert "It broke." in result["hosts"]["web01"]["error"]


def test_known_and_unknown_codes_in_one_job():
    job = camel("j1", "web01", details=[{"errorCode": 123456}, {"errorCode": VSS}])
    result = backup_job_findings([job], INV)
    assert result["hosts"]["web01"]["codes"] == [VSS] and result["hosts"]["web01"]["error"] == ""
    # a code the catalog knows is enough; the other number stays beside it
    assert result["unknown"] == []
    assert result["hosts"]["web01"]["job"]["unknown_codes"] == ["123456"]
    assert result["hosts"]["web01"]["job"]["error_numbers"] == [123456]


# ---- newest job per VM, later success ------------------------------------------------------------
def test_newest_failed_job_per_vm_wins_in_any_input_order():
    old = camel("old", "web01", start="2026-03-01T10:00:00Z", details=[{"errorCode": FS}])
    new = camel("new", "web01", start="2026-03-02T10:00:00.1234567Z", details=[{"errorCode": VSS}])
    for jobs in ([old, new], [new, old]):
        host = backup_job_findings(jobs, INV)["hosts"]["web01"]
        assert host["codes"] == [VSS]
        assert host["job"]["job_id"] == "new" and host["job"]["older_failed_jobs"] == ["old"]
        assert host["job"]["start_time"] == "2026-03-02T10:00:00.123456+00:00"


def test_timezones_are_compared_as_instants():
    a = camel("a", "web01", start="2026-03-02T10:00:00+02:00", details=[{"errorCode": FS}])  # 08:00 UTC
    b = camel("b", "web01", start="2026-03-02T09:00:00Z", details=[{"errorCode": VSS}])
    assert backup_job_findings([b, a], INV)["hosts"]["web01"]["job"]["job_id"] == "b"


def test_a_later_completed_backup_means_the_vm_recovered():
    failed = camel("f", "web01", start="2026-03-01T10:00:00Z", details=[{"errorCode": VSS}])
    ok = camel("ok", "web01", status="Completed", start="2026-03-02T10:00:00Z")
    earlier_ok = camel("ok0", "db01", status="Completed", start="2026-02-01T10:00:00Z")
    db_failed = camel("f2", "db01", start="2026-03-01T10:00:00Z", details=[{"errorCode": FS}])
    result = backup_job_findings([failed, ok, earlier_ok, db_failed], INV)
    assert codes_of(result) == {"db01": [FS]}
    reasons = {j["job_id"]: j["reason"] for j in result["skipped"]}
    assert "a later backup job ok" in reasons["f"] and "Completed" in reasons["ok0"]


def test_other_statuses_and_operations_are_skipped_with_a_reason():
    jobs = [
        camel("run", "web01", status="InProgress"),
        camel("restore", "db01", details=[{"errorCode": VSS}], operation="Restore"),
    ]
    result = backup_job_findings(jobs, INV, operations=["Backup"])
    assert result["hosts"] == {}
    assert {j["job_id"]: j["reason"] for j in result["skipped"]} == {
        "run": "status InProgress: not a failure",
        "restore": "operation 'Restore' was not asked for",
    }


# ---- mapping VMs to hosts ---------------------------------------------------------------------------
def test_host_variables_name_the_vm():
    inv = {"web01.example.com": {"vmbackup_azure_vm_name": "WEB01"}}
    result = backup_job_findings([camel("j", "web01", details=[{"errorCode": VSS}])], inv)
    assert codes_of(result) == {"web01.example.com": [VSS]}


def test_same_vm_name_in_two_resource_groups():
    inv = {
        "web01-a": {"vmbackup_azure_vm_name": "web01", "vmbackup_azure_resource_group": "rg-a"},
        "web01-b": {"vmbackup_azure_vm_name": "web01", "vmbackup_azure_resource_group": "RG-B"},
    }
    jobs = [
        camel("ja", "web01", container="iaasvmcontainerv2;rg-a;web01", details=[{"errorCode": VSS}]),
        camel("jb", "web01", container="IaasVMContainer;iaasvmcontainerv2;rg-b;web01", details=[{"errorCode": FS}]),
        camel("jx", "web01", details=[{"errorCode": VSS}]),  # no resource group: ambiguous
        camel("jc", "web01", container="iaasvmcontainerv2;rg-c;web01", details=[{"errorCode": VSS}]),
    ]
    result = backup_job_findings(jobs, inv)
    assert codes_of(result) == {"web01-a": [VSS], "web01-b": [FS]}
    reasons = {j["job_id"]: j["reason"] for j in result["unmapped"]}
    assert set(reasons) == {"jx", "jc"}
    assert "matches several hosts (web01-a, web01-b)" in reasons["jx"]
    assert "resource group 'rg-c'" in reasons["jc"]


def test_two_vms_of_one_name_on_a_host_without_resource_group_are_not_guessed():
    jobs = [
        camel("ja", "web01", container="iaasvmcontainerv2;rg-a;web01", details=[{"errorCode": VSS}]),
        camel("jb", "web01", container="iaasvmcontainerv2;rg-b;web01", details=[{"errorCode": FS}]),
    ]
    result = backup_job_findings(jobs, INV)
    assert result["hosts"] == {}
    assert {j["job_id"] for j in result["unmapped"]} == {"ja", "jb"}
    assert "set vmbackup_azure_resource_group" in result["unmapped"][0]["reason"]


def test_resource_id_maps_exactly():
    rid = f"/subscriptions/{SUB}/resourceGroups/rg-a/providers/Microsoft.Compute/virtualMachines/web01"
    inv = {"a": {"vmbackup_azure_resource_id": rid}, "b": {"vmbackup_azure_vm_name": "web01"}}
    job = camel("j", "web01", details=[{"errorCode": VSS}], sourceResourceId=rid.upper())
    result = backup_job_findings([job], inv)
    assert codes_of(result) == {"a": [VSS]}
    assert result["hosts"]["a"]["job"]["resource_group"] == "rg-a".upper()


def test_jobs_that_cannot_be_placed_are_reported():
    jobs = [
        camel("ghost", "vm-gone", details=[{"errorCode": 320001}]),
        {"name": "noname", "properties": {"status": "Failed", "errorDetails": [{"errorCode": VSS}]}},
        "not a job",
    ]
    result = backup_job_findings(jobs, INV, hosts=["web01"])
    reasons = {j["job_id"]: j["reason"] for j in result["unmapped"]}
    assert "no triaged inventory host is VM 'vm-gone'" in reasons["ghost"]
    assert "names no VM" in reasons["noname"]
    assert reasons["#2"] == "job #2 is a str, not an object"
    assert result["summary"] == {"incomplete": False, "jobs": 3, "hosts": 0, "unmapped": 3, "unknown": 1, "skipped": 0}
    assert any(line.startswith("UNMAPPED job ghost (VM vm-gone, ResourceNotFound)") for line in result["lines"])


def test_hosts_limit_the_candidates_and_order_follows_the_inventory():
    jobs = [camel("j2", "web01", details=[{"errorCode": VSS}]), camel("j1", "db01", details=[{"errorCode": FS}])]
    assert list(backup_job_findings(jobs, INV)["hosts"]) == ["web01", "db01"]
    assert list(backup_job_findings(jobs, INV, hosts=["db01"])["hosts"]) == ["db01"]


# ---- clear errors on bad input ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "data, message",
    [
        (42, "expected a list of Azure Backup jobs"),
        ("{not json", "not valid JSON"),
        ({"foo": 1}, "no jobs found"),
        ({"error": {"code": "AuthorizationFailed", "message": "no access"}}, "AuthorizationFailed: no access"),
        ({"failed": True, "msg": "credentials missing"}, "the job query failed: credentials missing"),
        ({"response": [{"error": {"code": "ResourceNotFound", "message": "vault"}}]}, "Azure returned an error"),
    ],
)
def test_bad_input_fails_with_a_clear_error(data, message):
    with pytest.raises(AnsibleFilterError, match=message):
        backup_job_findings(data, INV)


def test_bad_inventory_and_operations_fail_clearly():
    with pytest.raises(AnsibleFilterError, match="inventory must be a mapping"):
        backup_job_findings([], ["web01"])
    with pytest.raises(AnsibleFilterError, match="operations must be a list"):
        backup_job_findings([], INV, operations="Backup")


# ---- hypothesis: mangled jobs -------------------------------------------------------------------------
json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from([VSS, FS, "320001", "400094", 380008, "BCMV2VMNotFound", "Snapshot operation failed", ""]),
)
json_value = st.recursive(
    json_leaf,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
KEYS = [
    "name",
    "properties",
    "entityFriendlyName",
    "status",
    "startTime",
    "containerName",
    "errorDetails",
    "errorCode",
    "errorTitle",
    "errorString",
    "extendedInfo",
    "dynamicErrorMessage",
    "propertyBag",
]


def _all_names(entry):
    return [entry.code, *entry.aliases, *(str(n) for n in entry.numeric_codes)]


def _evidence(job):
    """Every catalog code some name, number or message of which appears in the job's text."""
    text = _jobs._normalize_message(json.dumps(job, ensure_ascii=False, default=str))
    found = set()
    for entry in CATALOG:
        if any(name.casefold() in text for name in _all_names(entry)):
            found.add(entry.code)
        if any(_jobs._normalize_message(m).split(": ")[0].rstrip(" .") in text for m in entry.messages):
            found.add(entry.code)
    return found


@st.composite
def mangled_job(draw):
    job = copy.deepcopy(
        draw(
            st.sampled_from(
                [
                    camel("j", "web01", details=[{"errorCode": VSS, "errorString": "Snapshot operation failed"}]),
                    snake("j", "web01", details=[{"error_code": 320001}], container="iaasvmcontainerv2;rg;web01"),
                    camel("j", "web01", details=[{"errorCode": 0, "errorTitle": FS}]),
                ]
            )
        )
    )
    for _dummy in range(draw(st.integers(0, 5))):
        target = job["properties"] if draw(st.booleans()) and isinstance(job.get("properties"), dict) else job
        key = draw(st.sampled_from(KEYS + list(target.keys())))
        if draw(st.booleans()):
            target.pop(key, None)
        else:
            target[key] = draw(json_value)
    return job


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(mangled_job(), json_value), max_size=4))
def test_mangled_jobs_never_crash_and_never_invent_a_code(jobs):
    try:
        result = _jobs.backup_job_findings(jobs, {"web01": {}, "other": {}})
    except _jobs.JobsError as exc:
        assert str(exc)
        return
    placed = (
        len(result["skipped"])
        + len(result["unmapped"])
        + sum(1 + len(h["job"]["older_failed_jobs"]) for h in result["hosts"].values())
    )
    assert placed == len(jobs), "a job was dropped silently"
    allowed = set().union(*(_evidence(job) for job in jobs)) if jobs else set()
    for host in result["hosts"].values():
        assert set(host["codes"]) <= allowed
    for job in result["unmapped"]:
        assert set(job["codes"]) <= allowed


@settings(max_examples=200, deadline=None)
@given(json_value)
def test_any_json_input_is_a_result_or_a_clear_error(data):
    try:
        result = _jobs.backup_job_findings(data, {"web01": {}})
    except _jobs.JobsError as exc:
        assert str(exc)
    else:
        assert set(result) == {"hosts", "lines", "incomplete", "unmapped", "unknown", "skipped", "summary"}


# ---- the live query's arguments and a recorded-shape response ------------------------------------------
def test_live_query_arguments():
    args = backup_job_query({"name": "rsv-prod", "resource_group": "rg-backup"}, SUB)
    assert args["api_version"] == "2024-04-01"
    vault = "providers/Microsoft.RecoveryServices/vaults/rsv-prod/backupJobs"
    # the filter is sent once as a parameter (backup_jobs_info); the url carries none
    assert args["url"] == f"/subscriptions/{SUB}/resourceGroups/rg-backup/{vault}"
    assert args["filter"] == "status eq 'Failed' and backupManagementType eq 'AzureIaasVM' and operation eq 'Backup'"
    other = backup_job_query(
        {"name": "v", "resource_group": "g", "subscription_id": SUB}, None, "2023-02-01", "x eq 'y'"
    )
    assert other["api_version"] == "2023-02-01" and other["filter"] == "x eq 'y'" and "?" not in other["url"]


@pytest.mark.parametrize(
    "vault, sub, message",
    [
        ({"name": "v"}, SUB, "needs resource_group"),
        ({"name": "v", "resource_group": "g"}, "", "needs subscription_id"),
        ({"name": "v/../x", "resource_group": "g"}, SUB, "invalid vault or resource group name"),
        ({"name": "v", "resource_group": "g"}, "not-a-guid", "is not a GUID"),
        ("rsv-prod", SUB, "must be a mapping"),
    ],
)
def test_live_query_rejects_bad_vaults(vault, sub, message):
    with pytest.raises(AnsibleFilterError, match=message):
        backup_job_query(vault, sub)


def test_a_registered_azure_rm_resource_info_result():
    """The shape azure_rm_resource_info registers for a collection GET (module source: `response` gets each
    page's `value`); the jobs follow the REST spec's ListJobs example, with a failure added. Not recorded from
    Azure: there is no Azure here."""
    registered = {
        "changed": False,
        "url": backup_job_query({"name": "v", "resource_group": "g"}, SUB)["url"],
        "status_code": 200,
        "response": [
            {
                "id": f"/Subscriptions/{SUB}/resourceGroups/SwaggerTestRg/providers/Microsoft.RecoveryServices/"
                "vaults/NetSDKTestRsVault/backupJobs/00000000-0000-0000-0000-000000000001",
                "name": "00000000-0000-0000-0000-000000000001",
                "type": "Microsoft.RecoveryServices/vaults/backupJobs",
                "properties": {
                    "jobType": "AzureIaaSVMJob",
                    "duration": "PT12.4272909S",
                    "virtualMachineVersion": "Compute",
                    "entityFriendlyName": "testvm",
                    "backupManagementType": "AzureIaasVM",
                    "operation": "Backup",
                    "status": "Failed",
                    "startTime": "2017-08-03T05:31:07.014604Z",
                    "activityId": "00000000-0000-0000-0000-000000000000",
                    "errorDetails": [{"errorCode": 380008, "errorString": "x", "recommendations": []}],
                },
            }
        ],
    }
    result = backup_job_findings(registered, {"testvm": {}})
    assert codes_of(result) == {"testvm": ["AzureVmOffline"]}
    assert result["hosts"]["testvm"]["job"]["start_time"] == "2017-08-03T05:31:07.014604+00:00"


# ---- one host's result after its roles ran -------------------------------------------------------------
def _host():
    jobs = [camel("j", "web01", details=[{"errorCode": VSS}, {"errorCode": 320001}, {"errorCode": FS}])]
    return backup_job_findings(jobs, INV)["hosts"]["web01"]


def test_host_result_prefers_the_roles_finding():
    role = {"changed": True, "finding": {"error_code": VSS, "status": "fail", "detail": "writer 8", "fix": "restart"}}
    result = backup_job_host_result(_host(), "windows", {VSS: role}, check_mode=False)
    by_code = {f["error_code"]: f for f in result["findings"]}
    assert by_code[VSS]["detail"] == "writer 8" and by_code[VSS]["changed"] is True
    assert by_code["ResourceNotFound"]["status"] == "fail" and "job j" in by_code["ResourceNotFound"]["detail"]
    assert "the role is for linux, this host is windows" in by_code[FS]["fix"]
    assert result["job"]["job_id"] == "j" and result["os_family"] == "windows"
    # check mode and waivers never report a change
    assert backup_job_host_result(_host(), "windows", {VSS: role})["findings"][0]["changed"] is False
    waived = backup_job_host_result(_host(), "windows", {VSS: role}, check_mode=False, waived=[VSS])
    assert waived["findings"][0]["changed"] is False


def test_host_result_failures_and_unreachable():
    failed = backup_job_host_result(_host(), "windows", {VSS: None}, failures={VSS: "boom"})
    assert failed["findings"][0]["status"] == "error" and "boom" in failed["findings"][0]["detail"]
    gone = backup_job_host_result(_host(), "windows", {VSS: {"unreachable": True, "msg": "no route"}})
    assert gone == {"unreachable": True, "msg": "no route", "job": _host()["job"]}
    with pytest.raises(AnsibleFilterError, match="expected one host"):
        backup_job_host_result("web01", "windows")
