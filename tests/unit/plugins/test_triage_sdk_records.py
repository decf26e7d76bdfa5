"""Triage on job records built with the Recovery Services SDK.

Every record here comes out of azure-mgmt-recoveryservicesbackup's own models and serialiser
(tests/sdk_records.py), once with the version azure.azcollection pins (9.1.0) and once with the newest
(11.2.0): integer ``errorCode``, ISO-8601 durations, ``extendedInfo.tasksList``, ``recommendations``,
and the ``{"value": [...], "nextLink": ...}`` page. AzureIaaSVMJob has no resource-id field: a VM is
named only by ``entityFriendlyName`` and ``containerName`` (``iaasvmcontainerv2;<rg>;<vm>``).
"""

from __future__ import annotations

import json
import os
import sys

import jsonschema
import pytest
from ansible_collections.vmbackup.azure.plugins.filter.backup_job_findings import backup_job_findings
from ansible_collections.vmbackup.azure.plugins.module_utils._jobs import triage_result
from ansible_collections.vmbackup.azure.plugins.plugin_utils._report import build_report

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import sdk_records  # noqa: E402

VSS = "ExtensionFailedVssWriterInBadState"
VSS_MESSAGE = "Snapshot operation failed because VSS writers were in a bad state."
SUB = sdk_records.SUB
NEXT = (
    f"https://management.azure.com/subscriptions/{SUB}/resourceGroups/rg-backup/providers/Microsoft.RecoveryServices"
    "/vaults/rsv1/backupJobs?api-version=2024-04-01&$filter=status%20eq%20%27Failed%27&$skiptoken=MTAw%3D"
)
TASKS = [
    {"task_id": "Take Snapshot", "status": "Failed", "duration_s": 95},
    {"task_id": "Transfer data to vault", "status": "Cancelled"},
]


@pytest.fixture(scope="module", params=sdk_records.SDK_VERSIONS)
def sdk(request):
    return request.param


def page(sdk, jobs, next_link=None):
    built = sdk_records.page_with(sdk, {"jobs": jobs, "next_link": next_link})
    expected = "9.1.0" if sdk == "pinned" else "11.2.0"
    assert built["sdk_version"] == expected, "the SDK under test is not the version requirements/ pins"
    return built["page"]


def job(name, vm, rg, code=400123, message=VSS_MESSAGE, **extra):
    return {"name": name, "vm": vm, "rg": rg, "start": "2026-03-02T22:30:11.4162712Z", "error_code": code,
            "error_string": message, **extra}  # fmt: skip


# ---- (a) a recognised message is enough; the number stays beside it -------------------------------------
def test_a_recognised_message_with_an_unknown_number_is_triaged_not_unknown(sdk):
    data = page(sdk, [job("j1", "web01", "rg-a")])
    assert isinstance(data["value"][0]["properties"]["errorDetails"][0]["errorCode"], int)
    result = backup_job_findings(data, {"web01": {}})
    assert result["hosts"]["web01"]["codes"] == [VSS]
    assert result["unknown"] == [], "a job whose message the catalog knows is not UNKNOWN"
    assert not [line for line in result["lines"] if line.startswith("UNKNOWN")]
    host_job = result["hosts"]["web01"]["job"]
    assert host_job["error_numbers"] == [400123]
    assert "400123" in result["hosts"]["web01"]["findings"][0]["detail"]


def test_an_unrecognised_message_with_a_number_is_unknown_with_the_number(sdk):
    data = page(sdk, [job("j1", "web01", "rg-a", code=400999, message="Something new went wrong.")])
    result = backup_job_findings(data, {"web01": {}})
    assert result["hosts"]["web01"]["codes"] == []
    assert [(u["vm_name"], u["unknown_codes"]) for u in result["unknown"]] == [("web01", ["400999"])]
    assert "400999" in result["hosts"]["web01"]["error"]


# ---- (b) a saved page with nextLink is not the whole list -----------------------------------------------------
def test_a_saved_page_with_a_next_link_says_the_rest_was_not_read(sdk):
    data = page(sdk, [job("j1", "web01", "rg-a")], next_link=NEXT)
    result = backup_job_findings(data, {"web01": {}})
    assert result["hosts"]["web01"]["codes"] == [VSS]  # what is there is still triaged
    assert result["summary"]["incomplete"] is True
    assert result["incomplete"] and "nextLink" in result["incomplete"][0]
    assert result["lines"][0].startswith("INCOMPLETE")
    # the signed/secret-looking query of the link is not echoed
    assert "skiptoken=MTAw" not in json.dumps(result)


def test_the_last_page_has_no_next_link_and_is_complete(sdk):
    result = backup_job_findings(page(sdk, [job("j1", "web01", "rg-a")]), {"web01": {}})
    assert result["summary"]["incomplete"] is False and result["incomplete"] == []


def test_pages_saved_one_after_another_are_complete_when_the_last_has_no_next_link(sdk):
    first = page(sdk, [job("j1", "web01", "rg-a")], next_link=NEXT)
    last = page(sdk, [job("j2", "db01", "rg-b")])
    result = backup_job_findings([first, last], {"web01": {}, "db01": {}})
    assert set(result["hosts"]) == {"web01", "db01"}
    assert result["summary"]["incomplete"] is False
    second = page(sdk, [job("j2", "db01", "rg-b")], next_link=NEXT)
    cut = backup_job_findings([first, second], {"web01": {}, "db01": {}})
    assert cut["summary"]["incomplete"] is True


# ---- (c) map by what AzureIaaSVMJob has ----------------------------------------------------------------
def test_map_by_container_and_friendly_name_case_insensitive(sdk):
    data = page(
        sdk,
        [
            job("j1", "WEB01", "RG-A", entity_friendly_name="Web01"),
            job("j2", "web01", "rg-b", code=400777, message="x"),
        ],
    )
    rid = f"/subscriptions/{SUB}/resourceGroups/rg-a/providers/Microsoft.Compute/virtualMachines/web01"
    inventory = {
        "web-prod": {"vmbackup_azure_resource_id": rid},
        "web-test": {"vmbackup_azure_vm_name": "WEB01", "vmbackup_azure_resource_group": "RG-B"},
    }
    result = backup_job_findings(data, inventory)
    assert result["hosts"]["web-prod"]["job"]["job_id"] == "j1"
    assert result["hosts"]["web-prod"]["codes"] == [VSS]
    assert result["hosts"]["web-test"]["job"]["job_id"] == "j2"
    assert result["unmapped"] == []


# ---- (c) recommendations and the failed step reach the report --------------------------------------------------
def test_recommendations_and_the_failed_step_are_in_the_report(sdk, tmp_path):
    data = page(sdk, [job("j1", "web01", "rg-a", recommendations=["Restart the VSS writers."], tasks=TASKS)])
    result = backup_job_findings(data, {"web01": {}})
    host_job = result["hosts"]["web01"]["job"]
    assert host_job["recommendations"] == ["Restart the VSS writers."]
    assert host_job["failed_step"] == {"task_id": "Take Snapshot", "status": "Failed", "duration_seconds": 95.0}
    detail = result["hosts"]["web01"]["findings"][0]["detail"]
    assert "Take Snapshot" in detail and "Restart the VSS writers." in detail
    host_result = triage_result(result["hosts"]["web01"], "windows")
    report = build_report(["web01"], {"web01": host_result}, mode="triage", triage={"source": "file:x", **{
        k: v for k, v in result.items() if k not in ("hosts", "lines")}})  # fmt: skip
    with open(os.path.join(ROOT, "docs", "schemas", "report.schema.json"), encoding="utf-8") as handle:
        jsonschema.validate(report, json.load(handle))
    entry = report["hosts"][0]
    assert entry["job"]["failed_step"]["task_id"] == "Take Snapshot"
    assert entry["job"]["recommendations"] == ["Restart the VSS writers."]
    assert "Take Snapshot" in entry["findings"][0]["detail"]


def test_a_job_without_tasks_has_no_failed_step(sdk):
    result = backup_job_findings(page(sdk, [job("j1", "web01", "rg-a")]), {"web01": {}})
    assert result["hosts"]["web01"]["job"]["failed_step"] is None
    assert result["hosts"]["web01"]["job"]["recommendations"] == []
