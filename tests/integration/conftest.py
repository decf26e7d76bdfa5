"""Shared fixtures for playbook-level tests: run ansible-playbook from the checkout."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys

import jsonschema
import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STATES = os.path.join(ROOT, "tests", "sim", "states")
BIN = os.path.dirname(sys.executable)
SCHEMA = os.path.join(ROOT, "docs", "schemas", "report.schema.json")
sys.path.insert(0, os.path.join(ROOT, "tools"))


def run_playbook(inventory, playbook, *args, extra_vars=None, json_output=False, check=False):
    """Run a playbook from the checkout; returns the CompletedProcess (and parsed JSON with json_output)."""
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", str(inventory), str(playbook), *args]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    if json_output:
        env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if json_output and proc.stdout.strip().startswith("{"):
        proc.json = json.loads(proc.stdout)
    return proc


def task_results(play_json, module_suffix):
    """{host: result} for every task result whose action ends with ``module_suffix``."""
    out = {}
    for play in play_json["plays"]:
        for task in play["tasks"]:
            for host, res in task["hosts"].items():
                if res.get("action", "").endswith(module_suffix):
                    out[host] = res
    return out


def sha256(path):
    """Hex SHA-256 of a file's bytes (a check-mode run must leave a state file byte-identical)."""
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def load_yaml(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def log_lines(state_path):
    """The simulator's log of a host (one JSON line per remote execution); [] when nothing ran there."""
    if not os.path.exists(f"{state_path}.log.jsonl"):
        return []
    with open(f"{state_path}.log.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def writer_states(state_path):
    """``{writer name: state}`` of a simulated host's VSS writers (1 = stable)."""
    return {w["name"]: w.get("state", 1) for w in load_yaml(state_path)["vss_writers"]}


def read_report(path):
    """A JSON report, validated against docs/schemas/report.schema.json."""
    with open(path, encoding="utf-8") as handle:
        report = json.load(handle)
    with open(SCHEMA, encoding="utf-8") as handle:
        jsonschema.validate(report, json.load(handle))
    return report


@pytest.fixture
def sim_fleet(tmp_path):
    """Write an inventory of simulated Windows hosts; returns (inventory path, {host: state path})."""

    def make(hosts: dict[str, str], host_vars: dict | None = None):
        states = {}
        inv_hosts = {}
        for name, template in hosts.items():
            state = tmp_path / f"{name}.yml"
            shutil.copyfile(os.path.join(STATES, template), state)
            states[name] = state
            inv_hosts[name] = {"vmbackup_winsim_state": str(state), **((host_vars or {}).get(name) or {})}
        inventory = {
            "all": {
                "children": {
                    "windows": {"hosts": inv_hosts, "vars": {"ansible_connection": "vmbackup.azure.winsim"}},
                }
            }
        }
        path = tmp_path / "inventory.yml"
        path.write_text(yaml.safe_dump(inventory))
        return path, states

    return make


@pytest.fixture(scope="module")
def linux_host(tmp_path_factory):
    """A real Linux test host: sshd on 127.0.0.1 (this machine) with an unclean ext4 disk on a loop device."""
    import linux_testhost

    workdir = tmp_path_factory.mktemp("linux-host")
    host = linux_testhost.up(str(workdir))
    try:
        yield host
    finally:
        linux_testhost.teardown(str(workdir))
