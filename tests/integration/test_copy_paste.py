"""Copy-paste works: every shell command of README.md and docs/guides/*.md runs.

Each fenced ``sh`` / ``console`` / ``bash`` block is split into commands (continuation lines and
multi-line quotes joined, comments dropped). Every command either runs here -- from a scratch
directory holding the user's files the docs name (``inventory.yml``/``inventory`` = the demo fleet's
simulated Windows hosts, ``jobs.json``/``jobs-failed.json`` = demo/jobs-failed.json) -- and must exit 0,
or is listed in NOT_RUN with the reason it cannot run on this machine; a stale NOT_RUN entry fails too.
A ``--check --diff`` command must show a diff: the user sees what would change, not only a warning.
"""

from __future__ import annotations

import glob
import json
import os
import shlex
import shutil
import subprocess

import pytest
import yaml
from conftest import BIN, ROOT

DOCS = ["README.md", *sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "guides", "*.md")))]
SHELLS = ("sh", "console", "bash", "shell")

# command prefix -> why it does not run here (each must still match a command of the docs)
NOT_RUN = {
    "make test": "runs every test of the repository: the suite this test belongs to",
    "make demo": "builds a real Linux test host (sshd, loop device) and runs the playbooks below; run by `make demo`",
    "az ": "needs Azure and the az CLI (nothing here talks to Azure)",
    "export AZURE_": "Azure credentials (nothing here talks to Azure)",
    "ansible-playbook -i inventory.yml vmbackup.azure.merge": "needs slice reports on shared storage "
    "(tests/integration/test_merge_slices.py merges real slices)",
    "ansible-builder build": "needs podman or docker (tests/unit/test_ee_and_examples.py checks the build context)",
    "ansible-galaxy collection build --output-path context-collections": "the EE build's first step "
    "(docs/guides/awx.md); the same build runs in tests/integration/test_packaging.py",
    'ansible-playbook -i inventory vmbackup.azure.triage -e \'{"vmbackup_triage_vault"': "queries a vault in Azure",
    "ansible-playbook -i inventory playbooks/scan.yml -e vmbackup_azure_control_plane=true": "reads the "
    "subscription in Azure (tests/integration/test_control_plane.py runs it against the local ARM endpoint)",
}


def commands(text):
    """Shell commands of the fenced shell blocks of a Markdown text."""
    out = []
    for block in text.split("```")[1::2]:
        lang, dummy, body = block.partition("\n")
        if lang.strip() not in SHELLS:
            continue
        pending = ""
        for line in body.splitlines():
            line = line.strip()
            if line.startswith("$ "):
                line = line[2:]
            if not pending and (not line or line.startswith("#")):
                continue
            pending = (pending[:-1] if pending.endswith("\\") else pending + (" " if pending else "")) + line
            if pending.endswith("\\"):
                continue
            try:
                words = shlex.split(pending, comments=True)
            except ValueError:  # an open quote: the command goes on on the next line
                continue
            if words:
                out.append((pending, words))
            pending = ""
    return out


def read(doc):
    with open(os.path.join(ROOT, doc), encoding="utf-8") as handle:
        return handle.read()


ALL = [(doc, line, words) for doc in DOCS for line, words in commands(read(doc))]


def not_run(line):
    return next((reason for prefix, reason in NOT_RUN.items() if line.startswith(prefix)), None)


def test_every_not_run_entry_names_a_command_of_the_docs():
    assert len(ALL) >= 10
    for prefix in NOT_RUN:
        assert any(line.startswith(prefix) for dummy, line, dummy2 in ALL), f"stale NOT_RUN entry {prefix!r}"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A user's directory: the demo fleet's simulated Windows hosts as inventory.yml, the demo jobs."""
    work = tmp_path_factory.mktemp("copy-paste")
    with open(os.path.join(ROOT, "demo", "fleet.yml"), encoding="utf-8") as handle:
        fleet = yaml.safe_load(handle)
    (work / "states").mkdir()
    hosts = {}
    for name, spec in fleet["windows"].items():
        state = work / "states" / f"{name}.yml"
        shutil.copyfile(os.path.join(ROOT, spec["state"]), state)
        hosts[name] = {"vmbackup_winsim_state": str(state), **(spec.get("vars") or {})}
    windows = {"hosts": hosts, "vars": {"ansible_connection": "vmbackup.azure.winsim"}}
    inventory = {"all": {"children": {"windows": windows}}}
    for name in ("inventory.yml", "inventory"):
        (work / name).write_text(yaml.safe_dump(inventory))
    with open(os.path.join(ROOT, "demo", "jobs-failed.json"), encoding="utf-8") as handle:
        # without the job whose only code the catalog does not know (it makes the run exit non-zero by
        # design, tested in test_triage.py) and the Linux host's (not in this simulated fleet)
        jobs = [
            job for job in json.load(handle) if job["properties"]["entityFriendlyName"] in set(hosts) - {"win-ok-us"}
        ]
    for name in ("jobs.json", "jobs-failed.json"):
        (work / name).write_text(json.dumps(jobs))
    for name in (".venv", "playbooks"):
        os.symlink(os.path.join(ROOT, name), work / name)
    return work


# README's Install commands (ansible-galaxy build, then install) run in order in test_packaging.py.
RUN = [
    (doc, line, words)
    for doc, line, words in ALL
    if not not_run(line) and (doc, words[0]) != ("README.md", "ansible-galaxy")
]


@pytest.mark.parametrize(("doc", "line", "words"), RUN, ids=[f"{d}:{line[:70]}" for d, line, dummy in RUN])
def test_the_command_runs_as_written(workdir, doc, line, words):
    # "ansible-playbook ... vmbackup.azure.remediate --tags X": the elided part is the user's inventory
    words = [part for w in words for part in (["-i", "inventory.yml"] if w == "..." else [w])]
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    env["PATH"] = BIN + os.pathsep + env["PATH"]
    proc = subprocess.run(words, cwd=workdir, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"{doc}: {line}\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}"
    # no complaint about the configuration or the inventory (ansible.cfg once named a missing inventory)
    for complaint in ("Unable to parse", "No inventory was parsed", "host list is empty", "Could not match"):
        assert complaint not in proc.stderr + proc.stdout, proc.stderr[-2000:]
    if any(w.endswith(("scan", "scan.yml")) for w in words):  # the docs promise JSON, JUnit XML and HTML
        for suffix in (".json", ".junit.xml", ".html"):
            assert any(
                line.strip().strip('",').endswith(suffix) for line in proc.stdout.splitlines() if "report: " in line
            )
    if "--check" in words and "--diff" in words:
        assert "\n+" in proc.stdout or "\n-" in proc.stdout, f"{line}: no diff shown\n{proc.stdout[-3000:]}"


def test_ansible_cfg_names_no_missing_file():
    import configparser

    config = configparser.ConfigParser()
    config.read(os.path.join(ROOT, "ansible.cfg"))
    for key in ("inventory", "roles_path", "collections_path"):
        for path in filter(None, config["defaults"].get(key, "").split(":")):
            assert os.path.exists(os.path.join(ROOT, path)) or path == "./.collections", (key, path)
