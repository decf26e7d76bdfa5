"""The Windows simulator driven by real ``ansible-playbook`` runs (no Windows involved).

One playbook run (module-scoped fixture) covers most assertions; each host gets a private copy
of a state file from tests/sim/states.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_probe import (
    PROBE_SCRIPT,
    SECTIONS,
    build_script,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
STATES = os.path.join(ROOT, "tests", "sim", "states")
BIN = os.path.dirname(sys.executable)

PROBE = PROBE_SCRIPT  # the real probe: the simulator renders the sections it finds in it
SERVICES_ONLY = build_script({"services": SECTIONS["services"]})
UNKNOWN_SECTION = build_script({"bogus": "# section: bogus\n$probe['bogus'] = 1\n"})
NOT_PROBE = "[CmdletBinding(SupportsShouldProcess)]\nparam ()\nGet-Date\n"
NO_SHOULD_PROCESS = "# vmbackup.azure:windows_probe\nGet-Date\n"

HOSTS = {
    "main": "healthy.yml",
    "check": "healthy.yml",
    "zh": "vss_system_writer_timeout_zh-TW.yml",
    "de": "vss_multi_failed_de-DE.yml",
    "fr": "vss_stuck_fr-FR.yml",
    "down": "vss_service_down.yml",
}

REG = "HKLM:\\SOFTWARE\\Contoso\\Backup"


def _t(name, module, args=None, **kw):
    task = {"name": name, module: args if args is not None else {}, "register": "r"}
    task.update(kw)
    return task


PROBE_TASK = {"ansible.windows.win_powershell": {"script": PROBE, "depth": 6}}

PLAYBOOK = [
    {
        "name": "main",
        "hosts": "main",
        "gather_facts": False,
        "tasks": [
            _t("ping", "ansible.windows.win_ping"),
            _t(
                "regedit create",
                "ansible.windows.win_regedit",
                {"path": REG, "name": "Flag", "data": 1, "type": "dword"},
            ),
            _t(
                "regedit again",
                "ansible.windows.win_regedit",
                {"path": REG, "name": "Flag", "data": 1, "type": "dword"},
            ),
            _t(
                "regedit multistring",
                "ansible.windows.win_regedit",
                {"key": REG, "value": "Multi", "data": ["a", "b"], "datatype": "multistring"},
            ),
            _t(
                "regedit binary",
                "ansible.windows.win_regedit",
                {"path": REG, "name": "Bin", "data": "hex:be,ef", "type": "binary"},
            ),
            _t(
                "regedit qword",
                "ansible.windows.win_regedit",
                {"path": REG, "name": "Q", "data": "0x10", "type": "qword"},
            ),
            _t(
                "regedit expand",
                "ansible.windows.win_regedit",
                {"path": REG, "name": "E", "data": "%SystemRoot%\\x", "type": "expandstring"},
            ),
            _t("regedit delete value", "ansible.windows.win_regedit", {"path": REG, "name": "Q", "state": "absent"}),
            _t("reg_stat key", "ansible.windows.win_reg_stat", {"path": REG}),
            _t("reg_stat value", "ansible.windows.win_reg_stat", {"path": REG, "name": "Flag"}),
            _t("reg_stat missing", "ansible.windows.win_reg_stat", {"path": "HKLM:\\SOFTWARE\\Nope"}),
            _t("service_info one", "ansible.windows.win_service_info", {"name": "CryptSvc"}),
            _t(
                "service restart no force",
                "ansible.windows.win_service",
                {"name": "EventSystem", "state": "restarted"},
                ignore_errors=True,
            ),
            _t(
                "service stop dependents",
                "ansible.windows.win_service",
                {"name": "SENS", "state": "stopped", "force_dependent_services": "yes"},
            ),
            _t("service_info after stop", "ansible.windows.win_service_info", {"name": "*"}),
            _t(
                "service restart force",
                "ansible.windows.win_service",
                {"name": "EventSystem", "state": "restarted", "force_dependent_services": True},
            ),
            _t(
                "service username",
                "ansible.windows.win_service",
                {"name": "SQLWriter", "username": ".\\svc_sql", "password": "S3cret!pw"},
            ),
            _t("service start_mode", "ansible.windows.win_service", {"name": "BITS", "start_mode": "auto"}),
            _t("stat file", "ansible.windows.win_stat", {"path": "C:\\Windows\\System32\\vssapi.dll"}),
            _t("stat missing", "ansible.windows.win_stat", {"path": "C:\\nope.txt"}),
            _t("file_version", "community.windows.win_file_version", {"path": "C:\\Windows\\System32\\vssadmin.exe"}),
            _t("certificate_info", "ansible.windows.win_certificate_info"),
            _t("command vssadmin", "ansible.windows.win_command", "vssadmin list writers"),
            _t("shell vssadmin", "ansible.windows.win_shell", "vssadmin list writers"),
            _t("command unknown", "ansible.windows.win_command", "whoami /all", ignore_errors=True),
            {"name": "probe", **PROBE_TASK, "register": "r"},
            _t("probe default depth", "ansible.windows.win_powershell", {"script": PROBE}),
            _t("powershell other", "ansible.windows.win_powershell", {"script": NOT_PROBE}, ignore_errors=True),
            _t("probe services only", "ansible.windows.win_powershell", {"script": SERVICES_ONLY, "depth": 6}),
            _t(
                "probe unknown section",
                "ansible.windows.win_powershell",
                {"script": UNKNOWN_SECTION},
                ignore_errors=True,
            ),
            _t("unknown option", "ansible.windows.win_regedit", {"path": REG, "foo": 1}, ignore_errors=True),
            _t("missing required", "ansible.windows.win_service", {"state": "started"}, ignore_errors=True),
            _t("bad choice", "ansible.windows.win_service", {"name": "BITS", "state": "sleeping"}, ignore_errors=True),
            _t("bad bool", "ansible.windows.win_stat", {"path": "C:\\x", "get_size": "maybe"}, ignore_errors=True),
            _t("not modelled", "ansible.windows.win_hostname", {"name": "X"}, ignore_errors=True),
        ],
    },
    {
        "name": "check mode",
        "hosts": "check",
        "gather_facts": False,
        "check_mode": True,
        "tasks": [
            _t(
                "regedit create",
                "ansible.windows.win_regedit",
                {"path": REG, "name": "Flag", "data": 1, "type": "dword"},
            ),
            _t("service stop", "ansible.windows.win_service", {"name": "CryptSvc", "state": "stopped"}),
            _t("command vssadmin", "ansible.windows.win_command", "vssadmin list writers"),
            _t("shell", "ansible.windows.win_shell", "Restart-Computer"),
            {"name": "probe", **PROBE_TASK, "register": "r"},
            _t("powershell no ShouldProcess", "ansible.windows.win_powershell", {"script": NO_SHOULD_PROCESS}),
        ],
    },
    {
        "name": "locales",
        "hosts": "zh:de:fr:down",
        "gather_facts": False,
        "tasks": [
            {"name": "probe", **PROBE_TASK, "register": "r"},
            _t("restart CryptSvc", "ansible.windows.win_service", {"name": "CryptSvc", "state": "restarted"}),
            {"name": "probe after", **PROBE_TASK, "register": "r"},
        ],
    },
]


def ansible_playbook(tmp_path, inventory, playbook, json_output=False):
    """ansible-playbook from the checkout on ``inventory`` and ``playbook`` (data, written under ``tmp_path``)."""
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "playbook.yml").write_text(yaml.safe_dump(playbook, sort_keys=False))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    if json_output:
        env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
    return subprocess.run(
        [os.path.join(BIN, "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "playbook.yml")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _run(tmp_path, playbook, hosts):
    states = {}
    inv = {}
    for host, template in hosts.items():
        path = tmp_path / f"{host}.yml"
        shutil.copyfile(os.path.join(STATES, template), path)
        states[host] = path
        inv[host] = {"ansible_connection": "vmbackup.azure.winsim", "vmbackup_winsim_state": str(path)}
    before = {h: hashlib.sha256(p.read_bytes()).hexdigest() for h, p in states.items()}
    proc = ansible_playbook(tmp_path, {"all": {"hosts": inv}}, playbook, json_output=True)
    assert proc.stdout.strip().startswith("{"), proc.stdout[-2000:] + proc.stderr[-2000:]
    data = json.loads(proc.stdout)
    results: dict = {}
    for play in data["plays"]:
        for task in play["tasks"]:
            for host, res in task["hosts"].items():
                results.setdefault(host, {})[task["task"]["name"]] = res
    return proc, results, states, before


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("winsim")
    proc, results, states, before = _run(tmp, PLAYBOOK, HOSTS)
    return {"proc": proc, "r": results, "states": states, "before": before}


def _writers(text):
    """A tiny structure-based reader: the value after the first colon (ASCII or full-width;
    labels never contain one), a quoted name, two braced GUIDs, ``[n]``. No label words."""
    import re

    out = []
    for line in text.splitlines():
        value = re.split(r"[:\uff1a]", line, maxsplit=1)[-1].strip()
        if value.startswith("'") and value.endswith("'") and len(value) > 1:
            out.append({"name": value[1:-1], "ids": []})
        elif (m := re.fullmatch(r"\{([0-9a-fA-F-]{36})\}", value)) and out:
            out[-1]["ids"].append(m.group(1))
        elif (m := re.match(r"\[(\d+)\]", value)) and out:
            out[-1]["state"] = int(m.group(1))
    return out


def _parse(text):
    try:
        from ansible_collections.vmbackup.azure.plugins.plugin_utils._vss import parse_vss_writers
    except ImportError:  # pragma: no cover - the shared parser is written by another issue
        return _writers(text)
    return parse_vss_writers(text)


def _load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def test_playbook_ran(run):
    assert run["proc"].returncode == 0, run["proc"].stderr[-3000:]


def test_win_ping(run):
    assert run["r"]["main"]["ping"]["ping"] == "pong"


def test_regedit_changes_then_idempotent(run):
    r = run["r"]["main"]
    assert r["regedit create"]["changed"] is True
    assert r["regedit again"]["changed"] is False
    state = _load(run["states"]["main"])
    values = state["registry"][REG]
    assert values["Flag"] == {"type": "dword", "data": 1}
    assert values["Multi"] == {"type": "multistring", "data": ["a", "b"]}
    assert values["Bin"] == {"type": "binary", "data": [0xBE, 0xEF]}
    assert "Q" not in values and r["regedit delete value"]["changed"] is True
    assert r["reg_stat value"]["type"] == "REG_DWORD" and r["reg_stat value"]["value"] == 1
    props = r["reg_stat key"]["properties"]
    assert props["Bin"]["raw_value"] == ["0xbe", "0xef"]
    assert props["E"]["value"] == "C:\\Windows\\x" and props["E"]["raw_value"] == "%SystemRoot%\\x"
    assert r["reg_stat missing"]["exists"] is False


def test_check_mode_leaves_state_identical_and_reports_changes(run):
    r = run["r"]["check"]
    path = run["states"]["check"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == run["before"]["check"]
    assert r["regedit create"]["changed"] is True
    assert r["service stop"]["changed"] is True
    assert r["probe"]["output"][0]["probe"] == "vmbackup.azure.windows_probe"
    # win_powershell without SupportsShouldProcess is not run in check mode (what the module does)
    assert r["powershell no ShouldProcess"]["msg"] == "skipped, running in check mode"
    assert "output" not in r["powershell no ShouldProcess"]


def test_command_and_shell_skipped_in_check_mode(run):
    for name in ("command vssadmin", "shell"):
        res = run["r"]["check"][name]
        assert res.get("skipped") is True, res
        assert "does not support check mode" in res["msg"]


def test_unknown_option_missing_required_bad_choice(run):
    r = run["r"]["main"]
    msg = r["unknown option"]["msg"]
    assert (
        r["unknown option"]["failed"] and "Unsupported parameters for (ansible.windows.win_regedit) module: foo" in msg
    )
    assert "Supported parameters include: data, datatype, delete_key" in msg
    assert r["missing required"]["msg"] == "missing required arguments: name"
    assert r["bad choice"]["msg"].startswith(
        "value of state must be one of: absent, paused, started, stopped, restarted"
    )
    assert "unable to convert to bool" in r["bad bool"]["msg"]
    assert r["not modelled"]["msg"] == "simulator: module not modelled: ansible.windows.win_hostname"
    assert r["command unknown"]["msg"] == "simulator: command not modelled: whoami /all"
    assert r["powershell other"]["msg"].startswith("simulator: script not modelled")
    # only the sections the script has are answered; an unknown section is refused, never invented
    services_only = r["probe services only"]["output"][0]
    assert "services" in services_only and "vssadmin" not in services_only
    assert r["probe unknown section"]["failed"] is True
    assert "probe section not modelled: bogus" in r["probe unknown section"]["msg"]


def test_services_dependents_and_force(run):
    r = run["r"]["main"]
    assert r["service restart no force"]["failed"]
    assert (
        "Cannot stop service 'COM+ Event System (EventSystem)' because it has dependent services"
        in (r["service restart no force"]["msg"])
    )
    # SENS stopped with force: its running dependent COMSysApp stopped too
    info = {s["name"]: s for s in r["service_info after stop"]["services"]}
    assert info["SENS"]["state"] == "stopped" and info["COMSysApp"]["state"] == "stopped"
    assert info["EventSystem"]["dependency_of"] == ["SENS", "COMSysApp"]
    # restart with force: the (only running) dependents are started again
    state = _load(run["states"]["main"])["services"]
    assert state["EventSystem"]["state"] == "running"
    assert r["service restart force"]["changed"] is True and r["service restart force"]["state"] == "running"
    assert state["SQLWriter"]["username"] == ".\\svc_sql" and "password" not in state["SQLWriter"]
    assert state["BITS"]["start_mode"] == "auto"
    assert r["service_info one"]["services"][0]["state"] == "started"


def test_restart_resets_writers_unless_stuck(run):
    zh, fr = run["r"]["zh"], run["r"]["fr"]
    before = _parse(zh["probe"]["output"][0]["vssadmin"]["stdout"])
    after = _parse(zh["probe after"]["output"][0]["vssadmin"]["stdout"])
    assert [w["state"] for w in before if w["name"] == "System Writer"] == [8]
    assert [w["state"] for w in after if w["name"] == "System Writer"] == [1]
    stuck = _parse(fr["probe after"]["output"][0]["vssadmin"]["stdout"])
    assert [w["state"] for w in stuck if w["name"] == "System Writer"] == [7]


@pytest.mark.parametrize(
    ("host", "locale", "failed"),
    [
        ("zh", "zh-TW", {"System Writer": 8}),
        (
            "de",
            "de-DE",
            {"WMI Writer": 7, "SqlServerWriter": 11, "Registry Writer": 9, "Performance Counters Writer": 8},
        ),
        ("fr", "fr-FR", {"System Writer": 7}),
    ],
)
def test_vssadmin_locales_round_trip(run, host, locale, failed):
    probe = run["r"][host]["probe"]["output"][0]
    assert probe["locale"] == locale and probe["vssadmin"]["rc"] == 0
    writers = _parse(probe["vssadmin"]["stdout"])
    state = _load(run["states"][host])
    assert [w["name"] for w in writers] == [w["name"] for w in state["vss_writers"]]
    assert {w["name"]: w["state"] for w in writers if w["state"] != 1} == failed
    assert "Writer name" not in probe["vssadmin"]["stdout"]


def test_vss_service_down(run):
    probe = run["r"]["down"]["probe"]["output"][0]
    assert probe["vssadmin"]["rc"] != 0
    assert probe["vssadmin"]["stdout"].startswith("vssadmin 1.1")
    assert _parse(probe["vssadmin"]["stdout"]) == []


def test_probe_contract_and_depth(run):
    r = run["r"]["main"]
    out = r["probe"]["output"]
    assert len(out) == 1 and r["probe"]["changed"] is False
    probe = out[0]
    assert {"probe", "version", "computer_name", "locale", "vssadmin", "services"} <= set(probe)
    svc = {s["name"]: s for s in probe["services"]}
    assert svc["CryptSvc"]["dependencies"] == ["RpcSs"] and svc["MSDTC"]["start_mode"] == "auto"
    assert "CryptSvc" in svc["RpcSs"]["dependents"]
    # win_powershell's default depth (2) flattens the service objects, as on Windows
    flat = r["probe default depth"]["output"][0]["services"]
    assert all(isinstance(s, str) for s in flat)


def test_command_vssadmin(run):
    r = run["r"]["main"]
    for name in ("command vssadmin", "shell vssadmin"):
        assert r[name]["rc"] == 0 and r[name]["changed"] is True
        assert len(_parse(r[name]["stdout"])) == 8


def test_files_and_certificates(run):
    r = run["r"]["main"]
    assert r["stat file"]["stat"]["exists"] and r["stat file"]["stat"]["size"] == 1724416
    assert r["stat missing"]["stat"] == {"exists": False}
    assert r["file_version"]["win_file_version"]["file_version"] == "10.0.20348.1"
    assert r["certificate_info"]["exists"] and r["certificate_info"]["certificates"][0]["issued_to"] == "WIN-HEALTHY-01"


def test_log_one_line_per_execution(run):
    for host, path in run["states"].items():
        log = f"{path}.log.jsonl"
        with open(log, encoding="utf-8") as f:
            lines = [json.loads(x) for x in f]
        executed = [res for res in run["r"][host].values() if res.get("action") != "ansible.builtin.debug"]
        assert len(lines) == len(executed), host
        for line in lines:
            assert set(line) == {"host", "module", "check_mode", "changed", "failed", "time"}
            assert line["host"] == host
        assert all(line["check_mode"] for line in lines) == (host == "check")
    with open(f"{run['states']['main']}.log.jsonl", encoding="utf-8") as f:
        text = f.read()
    assert "S3cret" not in text


def test_local_reader_agrees_with_shared_parser(run):
    text = run["r"]["fr"]["probe"]["output"][0]["vssadmin"]["stdout"]
    mine = [(w["name"], w["state"]) for w in _writers(text)]
    assert mine == [(w["name"], w["state"]) for w in _parse(text)]
    assert all(len(w["ids"]) == 2 for w in _writers(text))


def test_missing_or_malformed_state_file_fails_clearly(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("hostname: [unclosed\n")
    inv = {
        "all": {
            "hosts": {
                "gone": {
                    "ansible_connection": "vmbackup.azure.winsim",
                    "vmbackup_winsim_state": str(tmp_path / "nope.yml"),
                },
                "bad": {"ansible_connection": "vmbackup.azure.winsim", "vmbackup_winsim_state": str(bad)},
            }
        }
    }
    ping = [{"hosts": "all", "gather_facts": False, "tasks": [{"ansible.windows.win_ping": {}}]}]
    proc = ansible_playbook(tmp_path, inv, ping)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert f"simulator state file not found: {tmp_path / 'nope.yml'}" in out
    assert f"simulator state file {bad} is not valid YAML" in out


GENERIC_KEYS = {"changed", "failed", "msg", "skipped", "invocation", "diff", "warnings"}
# added by ansible-playbook, not by the module (ActionBase adds *_lines next to stdout/stderr)
CONTROLLER_KEYS = {"action", "exception", "deprecations", "stdout_lines", "stderr_lines"}


def test_returned_keys_are_documented(run):
    modules = sorted(
        {
            res["action"]
            for host in run["r"].values()
            for res in host.values()
            if res.get("action") != "ansible.windows.win_hostname"
        }
    )
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    proc = subprocess.run(
        [os.path.join(BIN, "ansible-doc"), "-j", *modules],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    docs = json.loads(proc.stdout)
    assert len(modules) == 11
    for host in run["r"].values():
        for name, res in host.items():
            if res["action"] not in docs:
                continue
            returns = docs[res["action"]]["return"] or {}
            # ansible-core 2.19 leaves its own ``_ansible_*`` markers (e.g. _ansible_no_log) in results
            extra = set(res) - set(returns) - GENERIC_KEYS - CONTROLLER_KEYS
            extra = {key for key in extra if not key.startswith("_ansible_")}
            assert not extra, (name, res["action"], extra)
            for key, spec in returns.items():  # nested keys too, where the doc lists them
                contains = spec.get("contains")
                values = res.get(key)
                items = values if isinstance(values, list) else [values]
                for item in items:
                    if contains and isinstance(item, dict):
                        assert not set(item) - set(contains), (name, key, set(item) - set(contains))
