"""The live job query's paging and failure wording, over real HTTPS against the local ARM endpoint.

tools/arm_endpoint.py serves Jobs_List with a test CA made per test, a managed-identity token
endpoint, nextLink paging, 429 + Retry-After and 5xx; the jobs are built by the Recovery Services SDK
(tests/sdk_records.py). The transport is `requests` with the test CA (what azure-core uses underneath).
"""

from __future__ import annotations

import json
import os
import socket
import sys

import pytest
import requests
from ansible_collections.vmbackup.azure.plugins.module_utils import _arm
from ansible_collections.vmbackup.azure.plugins.module_utils._jobs import backup_job_findings, live_query_args

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import arm_endpoint  # noqa: E402
import sdk_records  # noqa: E402

SUB = sdk_records.SUB
VSS_MESSAGE = "Snapshot operation failed because VSS writers were in a bad state."
FS_MESSAGE = "Taking snapshot failed: freeze of one or more mount points of the VM failed."


def _jobs():
    spec = {
        "jobs": [
            {"name": f"j{i}", "vm": f"vm{i:02d}", "rg": "rg-app", "start": f"2026-03-02T1{i}:00:00Z",
             "error_code": 400000 + i, "error_string": VSS_MESSAGE}
            for i in range(5)
        ]
        + [{"name": "ok", "vm": "vm09", "rg": "rg-app", "status": "Completed", "start": "2026-03-02T23:00:00Z"}]
    }  # fmt: skip
    return sdk_records.page_with("pinned", spec)["page"]["value"]


@pytest.fixture(scope="module")
def jobs():
    return _jobs()


@pytest.fixture
def endpoint(jobs):
    ep = arm_endpoint.ArmEndpoint(
        {"subscription": SUB, "page_size": 2, "vaults": {"rg-backup/rsv1": {"jobs": jobs}}}
    ).start()
    yield ep
    ep.stop()


def _client(ep):
    """GET through requests with the test CA and a token fetched from the managed-identity endpoint."""
    session = requests.Session()  # verify= on each call: REQUESTS_CA_BUNDLE would override session.verify
    env = ep.env()
    token = session.get(
        env["IDENTITY_ENDPOINT"],
        params={"resource": "https://management.azure.com", "api-version": "2019-08-01"},
        headers={"X-IDENTITY-HEADER": env["IDENTITY_HEADER"]},
        timeout=10,
        verify=ep.ca_path,
    ).json()["access_token"]

    def send(url, params):
        full = url if url.startswith("https://") else ep.url + url
        answer = session.get(
            full, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=10, verify=ep.ca_path
        )
        return answer.status_code, dict(answer.headers), answer.text

    return send


def _query(vault="rsv1", group="rg-backup"):
    args = live_query_args({"name": vault, "resource_group": group}, SUB)
    return args["url"], {"api-version": args["api_version"], "$filter": args["filter"]}


def test_every_page_is_fetched_following_next_link_as_is(endpoint):
    url, params = _query()
    pages = _arm.list_pages(_client(endpoint), url, params, "jobs")
    assert [len(p["value"]) for p in pages] == [2, 2, 1]  # 5 failed jobs, the completed one filtered out
    assert "nextLink" not in pages[-1]
    calls = [r for r in endpoint.requests if r["path"] != "/msi/token"]
    assert len(calls) == 3
    for call in calls:
        assert len(call["query"]["$filter"]) == 1 and call["query"]["api-version"] == ["2024-04-01"]
        assert "skiptoken" not in call["query"]
    assert [c["query"].get("$skipToken") for c in calls] == [None, ["2"], ["4"]]


def test_live_triage_end_to_end_jobs_to_hosts(endpoint):
    url, params = _query()
    pages = _arm.list_pages(_client(endpoint), url, params, "jobs")
    inventory = {f"vm{i:02d}": {"vmbackup_azure_resource_group": "RG-APP"} for i in range(5)}
    result = backup_job_findings(pages, inventory)
    assert set(result["hosts"]) == set(inventory)
    assert all(item["codes"] == ["ExtensionFailedVssWriterInBadState"] for item in result["hosts"].values())
    assert result["summary"]["incomplete"] is False and result["unknown"] == []


def test_throttling_waits_the_retry_after_then_continues(endpoint):
    endpoint.state.update(throttle=3, retry_after=7)
    slept = []
    url, params = _query()
    pages = _arm.list_pages(_client(endpoint), url, params, "jobs", sleep=slept.append)
    assert slept == [7.0, 7.0, 7.0]
    assert sum(len(p["value"]) for p in pages) == 5


def test_throttled_past_the_retries_is_an_error_named_throttled(endpoint):
    endpoint.state.update(throttle=50, retry_after=1)
    url, params = _query()
    with pytest.raises(_arm.ArmError) as info:
        _arm.list_pages(_client(endpoint), url, params, "jobs", sleep=lambda s: None)
    assert info.value.kind == "throttled" and "429" in str(info.value)


def test_a_5xx_is_retried_and_a_lasting_5xx_is_a_server_error(endpoint):
    endpoint.state.update(fail=2)
    url, params = _query()
    assert len(_arm.list_pages(_client(endpoint), url, params, "jobs", sleep=lambda s: None)) == 3
    endpoint.state.update(fail=99)
    with pytest.raises(_arm.ArmError) as info:
        _arm.list_pages(_client(endpoint), url, params, "jobs", sleep=lambda s: None)
    assert info.value.kind == "server" and "503" in str(info.value)


def test_a_vault_that_does_not_exist_says_not_found(endpoint):
    url, params = _query(vault="rsv-typo")
    with pytest.raises(_arm.ArmError) as info:
        _arm.list_pages(_client(endpoint), url, params, "listing the jobs of vault rg-backup/rsv-typo")
    assert info.value.kind == "not_found" and "ResourceNotFound" in str(info.value)


def test_a_missing_token_says_auth_and_never_echoes_a_token(endpoint):
    secret = "s3cr3t-client-secret"

    def send(url, params):
        answer = requests.get(
            endpoint.url + url, params=params, headers={"Authorization": "Bearer " + secret}, verify=endpoint.ca_path
        )
        return answer.status_code, dict(answer.headers), answer.text

    url, params = _query()
    with pytest.raises(_arm.ArmError) as info:
        _arm.list_pages(send, url, params, "jobs")
    assert info.value.kind == "auth" and "401" in str(info.value)
    assert secret not in str(info.value)


def test_an_unreachable_endpoint_says_network():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there

    def send(url, params):
        try:
            answer = requests.get(f"https://127.0.0.1:{port}{url}", params=params, timeout=5)
        except requests.RequestException as exc:
            raise _arm.exception_failure(exc, "jobs") from None
        return answer.status_code, dict(answer.headers), answer.text

    url, params = _query()
    with pytest.raises(_arm.ArmError) as info:
        _arm.list_pages(send, url, params, "jobs")
    assert info.value.kind == "network"


def test_a_service_repeating_its_next_link_is_stopped(endpoint):
    """What azure_rm_resource_info's `skiptoken` does to a service that ignores it: the same page again."""
    first = {"value": [{"name": "a"}], "nextLink": endpoint.url + "/x?$skipToken=2"}

    def send(url, params):
        return 200, {}, json.dumps(first)

    with pytest.raises(_arm.ArmError) as info:
        _arm.list_pages(send, "/x", {}, "jobs")
    assert info.value.kind == "paging" and "$skipToken" not in str(info.value)
