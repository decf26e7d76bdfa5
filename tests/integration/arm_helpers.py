"""What every test against the local ARM endpoint (tools/arm_endpoint.py) shares.

The endpoint answers for https://management.azure.com through a CONNECT proxy that tunnels to
that host only; azure.azcollection's modules authenticate with azure-identity's managed identity
(IDENTITY_ENDPOINT / IDENTITY_HEADER) against its token route, and run with .venv-azure's Python
(azure.azcollection's own requirements.txt, `make setup`), as a user's vmbackup_azure_python would.
"""

from __future__ import annotations

import json
import os
import sys

import yaml
from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import arm_endpoint  # noqa: E402
import sdk_records  # noqa: E402

AZURE_PYTHON = os.environ.get("VMBACKUP_TEST_AZURE_PYTHON") or os.path.join(ROOT, ".venv-azure", "bin", "python")
SUB = sdk_records.SUB

if not os.path.exists(AZURE_PYTHON):  # no skip: a missing venv is a setup error, said plainly
    raise RuntimeError(f"{AZURE_PYTHON} is missing: run `make setup` (it builds .venv-azure)")


def serve(monkeypatch, state):
    """Start an endpoint holding `state` and point the environment (token, proxy, CA) at it."""
    endpoint = arm_endpoint.ArmEndpoint(state).start()
    for key, value in endpoint.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ANSIBLE_AZURE_AUTH_SOURCE", "msi")
    return endpoint


def inventory(tmp_path, hosts):
    """A YAML inventory of local hosts whose Azure tasks run with .venv-azure's Python."""
    inv = {
        "all": {
            "hosts": {
                name: {
                    "ansible_connection": "local",
                    "ansible_python_interpreter": sys.executable,
                    "vmbackup_azure_python": AZURE_PYTHON,
                    **hv,
                }
                for name, hv in hosts.items()
            }
        }
    }
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(inv))
    return path


def play(tmp_path, hosts, tasks, name="play.yml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump([{"name": "test", "hosts": hosts, "gather_facts": False, "tasks": tasks}]))
    return path


def role_play(tmp_path, role, **role_vars):
    """A play that runs vmbackup.azure.<role> on all hosts and prints its registered <role>_result."""
    return play(
        tmp_path,
        "all",
        [
            {"ansible.builtin.include_role": {"name": f"vmbackup.azure.{role}"}, "vars": role_vars},
            {"ansible.builtin.debug": {"msg": "RESULT {{ " + role + "_result | to_json }}"}},
        ],
    )


def results(proc):
    """{host: the role's registered result}, from the JSON callback's debug task."""
    out = {}
    for p in proc.json["plays"]:
        for task in p["tasks"]:
            for host, res in task["hosts"].items():
                msg = res.get("msg")
                if isinstance(msg, str) and msg.startswith("RESULT "):
                    out[host] = json.loads(msg[len("RESULT ") :])
    return out
