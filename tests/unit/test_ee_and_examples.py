"""The execution environment definition and the shipped examples.

- `ansible-builder create` (offline; no image is built, there is no container engine here) turns
  execution-environment.yml into a build context whose Containerfile installs our Python and system
  requirements and our collection;
- meta/execution-environment.yml (read by ansible-builder from the installed collection) names files
  that exist, with requirement lines pip and bindep can read;
- docs/examples/inventory.azure_rm.yml parses, names the azure_rm plugin, groups by OS, uses WinRM over
  HTTPS with certificate validation, and holds nothing that looks like a secret;
- docs/examples/include-role.yml is a valid playbook that includes one of our roles (`make lint` runs
  ansible-lint --profile production on it too).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def load(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def lines(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip() and not line.strip().startswith("#")]


def test_collection_ee_metadata_names_real_files():
    meta = load("meta/execution-environment.yml")
    assert meta["version"] == 1
    deps = meta["dependencies"]
    assert set(deps) == {"python", "system"}
    names = {Requirement(line).name.lower() for line in lines(deps["python"])}
    assert {"pywinrm", "jinja2", "jsonschema"} <= names
    packages = {line.split()[0] for line in lines(deps["system"])}
    assert {"e2fsprogs", "util-linux"} <= packages
    for line in lines(deps["system"]):  # bindep: name [profiles]
        assert re.fullmatch(r"[A-Za-z0-9.+_-]+( \[[a-z0-9:_ -]+\])?", line), line


# ansible-builder names the build file after the container runtime it finds on PATH: podman first,
# then docker (ansible_builder/constants.py `default_container_runtime`; `runtime_files`:
# Containerfile for podman, Dockerfile for docker). `create` has no --container-runtime option, so
# the file name is passed with --output-filename and PATH holds only the venv: the result does not
# depend on which container CLI a machine happens to have. Both names are checked.
@pytest.mark.parametrize(
    ("filename", "ee"),
    [
        ("Containerfile", "execution-environment.yml"),
        ("Dockerfile", "execution-environment.yml"),
        ("Containerfile", "execution-environment-slim.yml"),
    ],
)
def test_ansible_builder_creates_the_build_context(tmp_path, filename, ee):
    work = tmp_path / "ee"
    work.mkdir()
    shutil.copy(os.path.join(ROOT, ee), work)
    shutil.copytree(os.path.join(ROOT, "meta"), work / "meta")
    shutil.copytree(os.path.join(ROOT, "collections"), work / "collections")
    # Stands in for `ansible-galaxy collection build --output-path context-collections .` (slow, not under test).
    (work / "context-collections").mkdir()
    (work / "context-collections" / "vmbackup-azure-0.1.0.tar.gz").write_bytes(b"")
    proc = subprocess.run(
        [
            os.path.join(BIN, "ansible-builder"),
            "create",
            "-f",
            ee,
            "-c",
            "context",
            "--output-filename",
            filename,
        ],
        cwd=work,
        env={**os.environ, "PATH": BIN},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    context = work / "context"
    assert sorted(p.name for p in context.iterdir() if p.is_file()) == [filename]
    containerfile = (context / filename).read_text()
    for name in ("requirements.txt", "bindep.txt", "requirements.yml", "collections/vmbackup-azure-0.1.0.tar.gz"):
        assert (context / "_build" / name).is_file(), name
    assert "COPY _build/requirements.txt requirements.txt" in containerfile
    assert "COPY _build/bindep.txt bindep.txt" in containerfile
    assert "introspect" in containerfile  # reads meta/execution-environment.yml of installed collections
    assert "ansible-galaxy collection install /build/collections/*.tar.gz" in containerfile
    # installed in the galaxy stage, before the builder stage introspects the collections
    assert containerfile.index("collection install /build/collections") < containerfile.index("FROM base AS builder")
    reqs = (context / "_build" / "requirements.txt").read_text()
    assert "pywinrm" in reqs and "jsonschema" in reqs
    assert "e2fsprogs" in (context / "_build" / "bindep.txt").read_text()
    assert "pywinrm[kerberos]" in reqs  # the inventory example offers Kerberos transport
    galaxy = {c["name"] for c in yaml.safe_load((context / "_build" / "requirements.yml").read_text())["collections"]}
    # the full EE carries the optional azure.azcollection (triage's live query); the slim one only what runs always
    assert galaxy == ({"ansible.windows"} if "slim" in ee else {"ansible.windows", "azure.azcollection"})
    base = load(ee)["images"]["base_image"]["name"]
    assert base.startswith("quay.io/centos/centos:stream10"), base  # not an end-of-life base (was Fedora 41)


SECRET_KEY = re.compile(r"(password|passwd|secret|token|client_secret|private_key|access_key|sas)", re.I)


def _walk(value, path=""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}")
            yield f"{path}.{key}", key, item
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def test_example_inventory():
    with open(os.path.join(ROOT, "docs/examples/inventory.azure_rm.yml"), encoding="utf-8") as handle:
        text = handle.read()
    inv = yaml.safe_load(text)
    assert inv["plugin"] == "azure.azcollection.azure_rm"
    assert {"key": "os_profile.system", "prefix": "os"} in inv["keyed_groups"]
    assert inv["conditional_groups"]["windows"] == "os_profile.system == 'windows'"
    compose = inv["compose"]
    assert compose["ansible_winrm_scheme"] == "'https'"
    assert compose["ansible_winrm_server_cert_validation"] == "'validate'"
    assert "5986" in compose["ansible_port"] and "'ssh'" in compose["ansible_connection"]
    assert compose["vmbackup_azure_vm_name"] == "name" and compose["vmbackup_azure_resource_group"] == "resource_group"
    for comment in ("ntlm", "kerberos", "credssp"):
        assert re.search(rf"#.*ansible_winrm_transport: {comment}", text)
    # No credentials in a file we ship: no secret-named keys, no long random-looking strings.
    for path, key, value in _walk(inv):
        assert not SECRET_KEY.search(str(key)), path
        if isinstance(value, str):
            assert not re.search(r"[A-Za-z0-9+/_~.-]{32,}", value), path
    assert not re.search(r"(?im)^\s*(client_id|secret|tenant|subscription_id|password)\s*:", text)


def test_include_role_example_is_a_playbook_using_our_role():
    plays = load("docs/examples/include-role.yml")
    tasks = plays[0]["tasks"]
    included = [t for t in tasks if "ansible.builtin.include_role" in t]
    assert included and included[0]["ansible.builtin.include_role"]["name"].startswith("vmbackup.azure.")
    role = included[0]["ansible.builtin.include_role"]["name"].split(".")[-1]
    assert os.path.isdir(os.path.join(ROOT, "roles", role))
    prefix = role + "_"
    assert all(var.startswith(prefix) for var in included[0].get("vars", {}))
    proc = subprocess.run(
        [os.path.join(BIN, "ansible-playbook"), "--syntax-check", "-i", "localhost,", "docs/examples/include-role.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg")),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
