"""The probe-section rule, across every Windows fix: no state-changing step is ever planned from a probe section
that is missing, errored or implausibly empty; the finding is ``error``."""

from __future__ import annotations

import os
import sys

import pytest
from ansible_collections.vmbackup.azure.plugins.plugin_utils._probe_sections import section_problem
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_probe import PROBE_SCRIPT
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.probe import probe_output
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.state import HostState

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from winfixes import FIXES, mutations  # noqa: E402

STATES = os.path.join(ROOT, "tests", "sim", "states")


def sim_probe(state_file: str) -> dict:
    return probe_output(HostState.load(os.path.join(STATES, state_file)), PROBE_SCRIPT)


def allowed(finding):
    return [a for a in finding.get("actions") or [] if a.get("allowed")]


CASES = [(fix, section) for fix in FIXES for section in fix["sections"]]


@pytest.mark.parametrize(("fix", "section"), CASES, ids=[f"{f['action']}-{s}" for f, s in CASES])
def test_no_plan_from_missing_errored_or_empty_section(fix, section):
    probe = sim_probe(fix["state"])
    base = fix["evaluate"](probe, fix["options"])
    # the case can fail: on the intact probe the fix has allowed, state-changing work to do
    assert base["status"] == "fail" and allowed(base), base
    for label, broken in mutations(probe, section):
        finding = fix["evaluate"](broken, fix["options"])
        assert finding["status"] == "error", (label, finding)
        assert not allowed(finding), (label, finding)
        assert section in finding["detail"], (label, finding["detail"])


def test_wmi_style_empty_service_list_is_named():
    assert "lists no services" in section_problem({"services": []}, "services")
    assert "no running service" in section_problem({"services": [{"name": "X", "state": "stopped"}]}, "services")
    assert section_problem({"services": [{"name": "RpcSs", "state": "running"}]}, "services") is None
