"""The simulator's pieces in-process: manifest parsing, state loading/saving, vssadmin rendering."""

from __future__ import annotations

import base64
import json
import os
import shutil

import pytest
from ansible.plugins.loader import init_plugin_loader
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim import manifest, runner, vssadmin
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.state import HostState, StateError
from winsim_payload import real_in_data

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
STATES = os.path.join(ROOT, "tests", "sim", "states")


@pytest.fixture(scope="module", autouse=True)
def _loader():
    init_plugin_loader([os.path.join(ROOT, ".collections")])


def _copy(tmp_path, name="healthy.yml"):
    dest = tmp_path / name
    shutil.copyfile(os.path.join(STATES, name), dest)
    return str(dest)


def test_manifest_from_ansible_core():
    req = manifest.parse(real_in_data("ansible.windows.win_regedit", {"path": "HKLM:\\X", "_ansible_check_mode": True}))
    assert req.kind == "module" and req.module == "ansible.windows.win_regedit"
    assert req.args["path"] == "HKLM:\\X" and req.args["_ansible_check_mode"] is True
    assert "supports_check_mode = $true" in req.source


def test_manifest_older_format_and_short_name(tmp_path):
    old = {
        "module_entry": base64.b64encode(b"$spec = @{ supports_check_mode = $true }").decode(),
        "module_args": {"_ansible_module_name": "win_ping", "data": "hi"},
        "actions": ["exec"],
    }
    in_data = b"&chr(0) exec wrapper text\0\0\0\0" + json.dumps(old).encode()
    req = manifest.parse(in_data)
    assert req.kind == "module" and req.module == "win_ping"
    rc, out, _err = runner.execute("", in_data, _copy(tmp_path), str(tmp_path / "log.jsonl"), "h")
    assert rc == 0 and json.loads(out) == {"changed": False, "ping": "hi"}
    assert json.loads((tmp_path / "log.jsonl").read_text())["module"] == "ansible.windows.win_ping"


def test_exec_wrapper_helpers_and_unknown_commands(tmp_path):
    from ansible.executor.powershell.module_manifest import _bootstrap_powershell_script

    _script, stdin = _bootstrap_powershell_script(
        "powershell_mkdtemp.ps1", {"Directory": "%TEMP%", "Name": "ansible-tmp-1"}
    )
    rc, out, _err = runner.execute("powershell -EncodedCommand x", stdin, "unused", "unused", "h")
    assert rc == 0 and out.decode().strip() == "C:\\Users\\azureadmin\\AppData\\Local\\Temp\\ansible-tmp-1"
    rc, _out, err = runner.execute("Get-ChildItem C:\\", None, "unused", "unused", "h")
    assert rc == 1 and b"simulator: command not modelled: Get-ChildItem" in err


def test_state_unchanged_is_not_rewritten_and_change_is_atomic(tmp_path):
    path = _copy(tmp_path)
    log = str(tmp_path / "log.jsonl")
    mtime = os.stat(path).st_mtime_ns
    args = {"path": "HKLM:\\SOFTWARE\\Microsoft\\Virtual Machine\\Guest", "name": "GuestAgentVersion"}
    rc, out, _err = runner.execute("", real_in_data("ansible.windows.win_reg_stat", args), path, log, "h")
    assert rc == 0 and json.loads(out)["value"] == "2.7.41491.1102"
    assert os.stat(path).st_mtime_ns == mtime
    args = {"name": "CryptSvc", "start_mode": "manual"}
    rc, out, _err = runner.execute("", real_in_data("ansible.windows.win_service", args), path, log, "h")
    assert json.loads(out)["changed"] is True
    assert HostState.load(path).services["CryptSvc"]["start_mode"] == "manual"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".winsim-")] == []


def test_invocation_redacts_passwords(tmp_path):
    args = {"name": "SQLWriter", "username": "u", "password": "pw", "_ansible_inject_invocation": True}
    rc, out, _err = runner.execute(
        "", real_in_data("ansible.windows.win_service", args), _copy(tmp_path), "/dev/null", "h"
    )
    assert json.loads(out)["invocation"]["module_args"]["password"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("- a list\n", "the top level must be a mapping"),
        ("hostname: X\nservices: [a]\n", "'services' must be a mapping"),
        ("hostname: X\nvss_writers: [{name: W}]\n", "vss_writers[0] needs name, writer_id and instance_id"),
        ("hostname: X\nservices: {A: {state: dancing}}\n", "services.A.state must be one of"),
    ],
)
def test_malformed_state_names_the_file(tmp_path, content, message):
    path = tmp_path / "s.yml"
    path.write_text(content)
    with pytest.raises(StateError, match=str(path)) as err:
        HostState.load(str(path))
    assert message in str(err.value)


def test_unmodelled_sections_are_preserved(tmp_path):
    path = tmp_path / "s.yml"
    path.write_text("hostname: X\nacls: {C:\\x: {sddl: 'O:SY'}}\nfuture_section: {a: 1}\nregistry: {}\n")
    args = {"path": "HKLM:\\SOFTWARE\\A", "name": "B", "data": "c"}
    runner.execute("", real_in_data("ansible.windows.win_regedit", args), str(path), "/dev/null", "h")
    state = HostState.load(str(path)).data
    assert state["acls"] == {"C:\\x": {"sddl": "O:SY"}} and state["future_section"] == {"a": 1}
    assert state["registry"]["HKLM:\\SOFTWARE\\A"]["B"] == {"type": "string", "data": "c"}


def test_vssadmin_locale_details():
    writer = {"name": "System Writer", "writer_id": "E8132975-6F93-4464-A53E-1050253AE220", "instance_id": "x" * 36}
    _rc, zh = vssadmin.render([{**writer, "state": 8, "last_error": "Timed out"}], "zh-TW")
    assert "寫入程式名稱：'System Writer'" in zh and "：[8] " in zh and "逾時" in zh
    _rc, fr = vssadmin.render([writer], "fr-FR")
    assert "Nom de l'enregistreur : 'System Writer'" in fr and "{e8132975-6f93-4464-a53e-1050253ae220}" in fr
    assert fr.startswith("vssadmin 1.1 - ") and "\r\n" in fr
    _rc, other = vssadmin.render([writer], "pt-BR")  # unknown locale -> en-US
    assert "Writer name: 'System Writer'" in other
    rc, down = vssadmin.render([writer], "de-DE", service_down=True)
    assert rc != 0 and "System Writer" not in down and down.splitlines()[1].startswith("(C) Copyright")
