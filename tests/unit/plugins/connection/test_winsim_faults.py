"""Fault modes of the Windows simulator (issue 9): the shapes real Windows produces when broken."""

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
