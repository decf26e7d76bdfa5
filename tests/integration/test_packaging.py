"""The collection as a newcomer gets it.

- README's Install commands, run as written from a copy of the checkout's tracked files, build the
  tarball and install it into a clean collections path (no network: ansible.windows comes with the
  `ansible` package); the tarball carries LICENSE, the field notes and the fix spec, and not ansible.cfg;
- from another directory, with only that collections path, a user playbook using the installed
  collection through ``include_role`` and ``roles:`` fixes a simulated Windows host, and the
  playbooks run by name (``vmbackup.azure.scan``);
- galaxy.yml declares what shipped content needs at run time; optional collections are documented.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile

import pytest
import yaml
from conftest import BIN, ROOT, STATES
from test_copy_paste import ALL

GALAXY = [(doc, line, words) for doc, line, words in ALL if words[0] == "ansible-galaxy" and doc == "README.md"]


def user_env(collections):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        PATH=BIN + os.pathsep + os.environ["PATH"], ANSIBLE_NOCOLOR="1", ANSIBLE_COLLECTIONS_PATH=str(collections)
    )
    env["ANSIBLE_HOME"] = str(collections.parent.parent / f"{collections.parent.name}-ansible-home")
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Run README's Install commands in a copy of the checkout; returns the collections path."""
    clone = tmp_path_factory.mktemp("clone")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    for rel in filter(None, tracked.stdout.split("\0")):
        src = os.path.join(ROOT, rel)
        if os.path.isfile(src):
            os.makedirs(os.path.dirname(clone / rel), exist_ok=True)
            shutil.copy2(src, clone / rel)
    assert [words[:3] for dummy, dummy2, words in GALAXY] == [
        ["ansible-galaxy", "collection", "build"],
        ["ansible-galaxy", "collection", "install"],
    ]
    env = user_env(clone / "collections")
    del env["ANSIBLE_COLLECTIONS_PATH"]  # as a user has it: nothing configured
    for doc, line, words in GALAXY:
        proc = subprocess.run(words, cwd=clone, env=env, capture_output=True, text=True, check=False, timeout=300)
        assert proc.returncode == 0, f"{doc}: {line}\n{proc.stdout}\n{proc.stderr}"
    return clone


def test_the_tarball_ships_the_license_and_the_docs_but_not_the_checkout_config(installed):
    (tarball,) = (installed / "dist").iterdir()
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
    assert {"LICENSE", "docs/field-notes.md", "docs/fixes.md", "meta/runtime.yml"} <= names
    assert "ansible.cfg" not in names and not any(n.startswith(("tests/output", ".venv")) for n in names)
    # development only (galaxy.yml build_ignore, docs/architecture.md): not shipped
    dev = ("tools/", "tests/", "molecule/", "demo/", ".ci/", "build/", "requirements/", "Makefile", "pyproject.toml")
    assert not [n for n in names if n.startswith(dev)]
    with tarfile.open(tarball) as tar:
        license_text = tar.extractfile("LICENSE").read().decode()
    assert "GNU GENERAL PUBLIC LICENSE" in license_text and "Version 3" in license_text
    installed_root = installed / "collections" / "ansible_collections" / "vmbackup" / "azure"
    assert (
        installed_root / "roles" / "extension_failed_vss_writer_in_bad_state" / "meta" / "argument_specs.yml"
    ).is_file()


def test_a_user_playbook_in_another_directory_uses_the_installed_collection(installed, tmp_path):
    state = tmp_path / "win1.yml"
    shutil.copyfile(os.path.join(STATES, "vss_stuck_fr-FR.yml"), state)
    (tmp_path / "inventory.yml").write_text(
        yaml.safe_dump(
            {
                "windows": {
                    "hosts": {
                        "win1": {"vmbackup_winsim_state": str(state), "ansible_connection": "vmbackup.azure.winsim"}
                    }
                }
            }
        )
    )
    (tmp_path / "site.yml").write_text(
        """- name: Include one fix
  hosts: windows
  gather_facts: false
  tasks:
    - name: Check the VSS writers
      ansible.builtin.include_role:
        name: vmbackup.azure.extension_failed_vss_writer_in_bad_state
      vars:
        extension_failed_vss_writer_in_bad_state_restart: false

    - name: Show the finding
      ansible.builtin.assert:
        that: extension_failed_vss_writer_in_bad_state_result.finding.status == 'fail'

- name: The same role through roles
  hosts: windows
  gather_facts: false
  roles:
    - role: vmbackup.azure.extension_failed_vss_writer_in_bad_state
      extension_failed_vss_writer_in_bad_state_restart: false
"""
    )
    env = user_env(installed / "collections")
    proc = subprocess.run(
        ["ansible-playbook", "-i", "inventory.yml", "site.yml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "vmbackup/azure/roles/extension_failed_vss_writer_in_bad_state" not in proc.stderr
    proc = subprocess.run(
        [
            "ansible-playbook",
            "-i",
            "inventory.yml",
            "vmbackup.azure.scan",
            "-e",
            "vmbackup_report_dir=out",
            "-e",
            "vmbackup_fail_on=fail",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and "would fail backup" in proc.stdout, proc.stdout[-3000:]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "vmbackup-scan.html",
        "vmbackup-scan.json",
        "vmbackup-scan.junit.xml",
    ]


USES = re.compile(
    r"\b(ansible\.windows|community\.windows|azure\.azcollection|ansible\.posix|community\.general)\.[a-z_]+"
)


def test_galaxy_declares_what_shipped_content_needs_and_the_readme_names_the_optional_ones():
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as handle:
        declared = set(yaml.safe_load(handle)["dependencies"])
    used, optional = set(), {"azure.azcollection": "playbooks/triage.yml", "community.windows": "the simulator"}
    simulator = (os.path.join("plugins", "connection"), os.path.join("plugins", "plugin_utils", "_winsim"))
    for top in ("roles", "playbooks", "plugins"):
        for base, _dirs, files in os.walk(os.path.join(ROOT, top)):
            rel = os.path.relpath(base, ROOT)
            if rel.startswith(simulator):
                continue
            for name in files:
                if name.endswith((".yml", ".py")) and not name.startswith("README"):
                    with open(os.path.join(base, name), encoding="utf-8") as handle:
                        code = "\n".join(line for line in handle if not line.lstrip().startswith("#"))
                    used |= {
                        m.group(1) for m in USES.finditer(code) if "DOCUMENTATION" not in code[: m.start()][-3000:]
                    }
    assert "ansible.windows" in used and declared == {"ansible.windows"}
    assert used - declared <= set(optional), used
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        requirements = handle.read().split("## Requirements", 1)[1].split("\n## ", 1)[0]
    for name in optional:
        assert f"*optional* `{name}`" in requirements
