"""The real WinRM wire in the loop: ansible's winrm connection plugin and pywinrm (unmodified) against
tools/winrm_sim.py, a WS-Management endpoint (HTTPS, a CA made for the test, basic auth) that hands
what Ansible sends to the Windows simulator.

Twin fleets (same state files) are run once over ``vmbackup.azure.winsim`` and once over
``ansible_connection: winrm``: reports, execution logs and final states must be the same.
"""

from __future__ import annotations

import os
import shutil
import time

import pytest
import winrm  # pywinrm
import winrm_sim  # tools/winrm_sim.py, put on sys.path by conftest
import yaml
from conftest import STATES, run_playbook
from winrm.exceptions import InvalidCredentialsError, WinRMOperationTimeoutError, WSManFaultError

FLEET = {
    "win-tw": "vss_system_writer_timeout_zh-TW.yml",
    "win-de": "vss_multi_failed_de-DE.yml",
    "win-keys": "machinekeys_extra_principals.yml",
    "win-ok": "healthy.yml",
}
HOST_VARS = {"win-de": {"extension_failed_vss_writer_in_bad_state_force_dependent_services": True}}
OPT_IN = {
    "extension_failed_vss_writer_in_bad_state_restart": True,
    "extension_config_parsing_failure_reset_acl": True,
    "extension_config_parsing_failure_delete_certificates": True,
    "vmbackup_error_codes": ["ExtensionFailedVssWriterInBadState", "ExtensionConfigParsingFailure"],
}


def copy_states(directory):
    directory.mkdir()
    hosts = {}
    for name, template in FLEET.items():
        state = directory / f"{name}.yml"
        shutil.copyfile(os.path.join(STATES, template), state)
        hosts[name] = {"state": str(state), "log": f"{state}.log.jsonl"}
    return hosts


def write_inventory(path, hosts, group_vars):
    inventory = {"all": {"children": {"windows": {"hosts": hosts, "vars": group_vars}}}}
    path.write_text(yaml.safe_dump(inventory))
    os.chmod(path, 0o600)  # the winrm inventory holds the generated password
    return path


WIRES = {
    "https-basic": ("https", "basic"),
    "http-ntlm-encrypted": ("http", "ntlm"),  # Windows' default listener: NTLM with message encryption
    "https-ntlm": ("https", "ntlm"),  # NTLM with the TLS channel binding checked
}


@pytest.fixture(params=["https-basic"])
def twins(request, tmp_path):
    """(winsim inventory, winrm inventory, {host: {state, log}} of each, the server)."""
    scheme, transport = WIRES[request.param]
    sim = copy_states(tmp_path / "sim")
    wire = copy_states(tmp_path / "wire")
    server, conn = winrm_sim.start(str(tmp_path / "pki"), wire, scheme=scheme, transport=transport)
    sim_hosts = {
        name: {"vmbackup_winsim_state": spec["state"], **HOST_VARS.get(name, {})} for name, spec in sim.items()
    }
    sim_inv = write_inventory(tmp_path / "sim.yml", sim_hosts, {"ansible_connection": "vmbackup.azure.winsim"})
    wire_inv = write_inventory(tmp_path / "wire.yml", winrm_sim.inventory_hosts(wire, conn, HOST_VARS), conn)
    try:
        yield sim_inv, wire_inv, sim, wire, server
    finally:
        server.shutdown()
        server.server_close()


def log_entries(spec):
    """The execution log without its timestamps."""
    if not os.path.exists(spec["log"]):
        return []
    with open(spec["log"], encoding="utf-8") as handle:
        lines = [yaml.safe_load(line) for line in handle if line.strip()]
    return [(x["host"], x["module"], x["check_mode"], x["changed"], x["failed"]) for x in lines]


def findings(path):
    import json

    with open(path, encoding="utf-8") as handle:
        report = json.load(handle)
    return {
        host["host"]: sorted((f["error_code"], f["status"], f["detail"], f.get("fix", "")) for f in host["findings"])
        for host in report["hosts"]
    }


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.mark.parametrize("twins", list(WIRES), indirect=True)
def test_scan_over_winrm_matches_the_simulator_connection(twins, tmp_path):
    sim_inv, wire_inv, sim, wire, server = twins
    for inv, name in ((sim_inv, "sim"), (wire_inv, "wire")):
        proc = run_playbook(
            inv, "playbooks/scan.yml", extra_vars={"vmbackup_report_path": str(tmp_path / f"{name}.json")}
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    over_sim, over_wire = findings(tmp_path / "sim.json"), findings(tmp_path / "wire.json")
    assert over_wire == over_sim
    # a Windows host over WinRM is checked as Windows (the cmd shell is a Windows shell too)
    assert ("ExtensionFailedVssWriterInBadState", "fail") in {(f[0], f[1]) for f in over_wire["win-tw"]}
    assert all(f[1] != "error" for f in over_wire["win-ok"])
    for host in FLEET:
        assert log_entries(wire[host]) == log_entries(sim[host])
        assert [e[1] for e in log_entries(wire[host])] == ["ansible.windows.win_powershell"]  # one execution
        assert load(wire[host]["state"]) == load(os.path.join(STATES, FLEET[host]))  # check mode: unchanged
    assert server.requests > 0


@pytest.mark.parametrize("twins", ["https-basic", "http-ntlm-encrypted"], indirect=True)
def test_fix_over_winrm_matches_the_simulator_connection(twins, tmp_path):
    sim_inv, wire_inv, sim, wire, server = twins
    for inv in (sim_inv, wire_inv):
        proc = run_playbook(inv, "playbooks/remediate.yml", extra_vars={**OPT_IN, "vmbackup_report_dir": str(tmp_path)})
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "failed=0" in proc.stdout and "unreachable=0" in proc.stdout
    for host in FLEET:
        assert log_entries(wire[host]) == log_entries(sim[host]), host
        assert load(wire[host]["state"]) == load(sim[host]["state"]), host
    changed = {host for host in FLEET if any(entry[3] for entry in log_entries(wire[host]))}
    assert changed == {"win-tw", "win-de", "win-keys"}
    # the second run over the wire changes nothing
    proc = run_playbook(
        wire_inv, "playbooks/remediate.yml", extra_vars={**OPT_IN, "vmbackup_report_dir": str(tmp_path)}
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "changed=0" in proc.stdout and "changed=1" not in proc.stdout


def test_rejected_credentials_make_the_host_unreachable(twins, tmp_path):
    dummy, wire_inv, dummy2, wire, dummy3 = twins
    data = load(wire_inv)
    data["all"]["children"]["windows"]["vars"]["ansible_password"] = "not-the-password"
    write_inventory(wire_inv, data["all"]["children"]["windows"]["hosts"], data["all"]["children"]["windows"]["vars"])
    proc = run_playbook(
        wire_inv, "playbooks/scan.yml", "--limit", "win-ok", extra_vars={"vmbackup_report_dir": str(tmp_path)}
    )
    assert "the specified credentials were rejected by the server" in proc.stdout
    # reported unreachable, and the run ends non-zero after the report (vmbackup_fail_on=error)
    assert proc.returncode == 2 and "vmbackup_fail_on=error: 1 host(s) unreachable" in proc.stdout, proc.stdout[-2000:]
    assert log_entries(wire["win-ok"]) == []  # nothing ran on the host


def test_a_certificate_from_an_unknown_ca_is_refused(twins, tmp_path):
    dummy, wire_inv, dummy2, wire, dummy3 = twins
    data = load(wire_inv)
    group = data["all"]["children"]["windows"]["vars"]
    group["ansible_winrm_ca_trust_path"] = os.path.join(os.path.dirname(winrm.__file__), "__init__.py")  # no CA in it
    write_inventory(wire_inv, data["all"]["children"]["windows"]["hosts"], group)
    proc = run_playbook(
        wire_inv, "playbooks/scan.yml", "--limit", "win-ok", extra_vars={"vmbackup_report_dir": str(tmp_path)}
    )
    assert proc.returncode == 2 and "vmbackup_fail_on=error: 1 host(s) unreachable" in proc.stdout, proc.stdout[-2000:]
    assert log_entries(wire["win-ok"]) == []


@pytest.fixture
def server_with(tmp_path):
    """A server on one host answered by a given ``execute`` function; returns (server, protocol factory)."""
    servers = []

    def make(execute, latency=0.0, scheme="https", transport="basic", **kwargs):
        hosts = {"h": {"state": str(tmp_path / "h.yml"), "log": str(tmp_path / "h.log.jsonl")}}
        server, conn = winrm_sim.start(str(tmp_path / "pki"), hosts, latency=latency, scheme=scheme)
        server.backend.execute = execute
        servers.append(server)
        protocol = winrm.Protocol(
            f"{scheme}://127.0.0.1:{server.port}/wsman/h",
            transport=transport,
            username=conn["ansible_user"],
            password=kwargs.pop("password", conn["ansible_password"]),
            ca_trust_path=conn.get("ansible_winrm_ca_trust_path"),
            server_cert_validation="validate",
            read_timeout_sec=10,
            operation_timeout_sec=5,
            **kwargs,
        )
        return server, protocol

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


def test_wire_shell_command_stdin_receive_signal_delete(server_with):
    """pywinrm's own Protocol: the stdin reaches the simulator whole, output over several Receives."""
    seen = {}

    def execute(cmd, in_data, state, log, host):
        seen.update(cmd=cmd, in_data=in_data, host=host)
        return 3, b"x" * 300_000 + b"end", b"some error"

    dummy, protocol = server_with(execute)
    shell = protocol.open_shell(codepage=65001)
    command = protocol.run_command(shell, "powershell.exe -EncodedCommand QQA=", console_mode_stdin=False)
    protocol.send_command_input(shell, command, b"part one,", end=False)
    # the process still waits for stdin: Windows answers Receive with an operation timeout
    with pytest.raises(WinRMOperationTimeoutError):
        protocol.get_command_output_raw(shell, command)
    protocol.send_command_input(shell, command, b"part two", end=True)
    stdout, stderr, rc = protocol.get_command_output(shell, command)
    assert (rc, stderr, len(stdout), stdout[-3:]) == (3, b"some error", 300_003, b"end")
    assert seen == {"cmd": "powershell.exe -EncodedCommand QQA=", "in_data": b"part one,part two", "host": "h"}
    protocol.cleanup_command(shell, command)  # Signal terminate; pywinrm asserts RelatesTo
    protocol.close_shell(shell)  # Delete
    with pytest.raises(WSManFaultError) as err:
        protocol.run_command(shell, "hostname")
    assert err.value.wsman_fault_code == winrm_sim.CODE_INVALID_SELECTORS


def test_wire_rejects_a_wrong_password(server_with):
    server, protocol = server_with(lambda *a: (0, b"", b""))
    protocol.transport.password = "wrong"
    with pytest.raises(InvalidCredentialsError):
        protocol.open_shell()
    assert server.backend.shells == {}


def test_each_request_is_delayed_by_the_latency(server_with):
    server, protocol = server_with(lambda *a: (0, b"ok", b""), latency=0.2)
    start = time.monotonic()
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "hostname")
    assert protocol.get_command_output(shell, command) == (b"ok", b"", 0)
    protocol.close_shell(shell)
    assert server.requests == 4  # Create, Command, Receive, Delete
    assert time.monotonic() - start >= 4 * 0.2


def test_wire_ntlm_over_http_requires_message_encryption(server_with):
    """Windows' default HTTP listener: NTLM, and the SOAP body encrypted (AllowUnencrypted false)."""
    server, protocol = server_with(lambda *a: (0, b"ok", b""), scheme="http", transport="ntlm")
    assert protocol.transport.message_encryption == "auto" and protocol.transport.endpoint.startswith("http:")
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "hostname")
    assert protocol.get_command_output(shell, command) == (b"ok", b"", 0)
    assert protocol.transport.encryption is not None  # pywinrm set up NTLM sealing for this session
    protocol.close_shell(shell)

    dummy, plain = server_with(lambda *a: (0, b"ok", b""), scheme="http", transport="ntlm", message_encryption="never")
    with pytest.raises(InvalidCredentialsError):
        plain.open_shell()  # authenticated, but unencrypted SOAP is refused


def test_wire_ntlm_rejects_a_wrong_password(server_with):
    server, protocol = server_with(lambda *a: (0, b"", b""), scheme="http", transport="ntlm", password="wrong")
    with pytest.raises(InvalidCredentialsError):
        protocol.open_shell()
    assert server.backend.shells == {}
