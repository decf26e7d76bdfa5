#!/usr/bin/env python3
"""Benchmark scan and remediation on simulated Windows hosts (a benchmark, not a timed test).

    .venv/bin/python tools/bench.py              # 60 hosts
    .venv/bin/python tools/bench.py --hosts 1000 --winrm-latency 0.05

For each transport - the simulator's connection plugin (vmbackup.azure.winsim) and the real WinRM
wire (ansible's winrm connection plugin and pywinrm over HTTPS to tools/winrm_sim.py) - over the
same fleet size, in one run:

- a ping-only play (ansible.windows.win_ping) over the failing fleet: the floor;
- scan.yml over the failing fleet;
- remediate.yml over a clean fleet (every host healthy.yml);
- remediate.yml over the failing fleet, opting in to every fix its hosts need (VSS writers, registry,
  MachineKeys ACL and certificates, COM+/MSDTC, agent, Windows Installer).

It prints remote executions per host (from the simulator's execution logs: one line per module run),
wall time, the ratio to the ping-only play, the controller's peak RSS (the largest ansible-playbook
process, from wait4) and, last, one summary line:

    bench: scan <x> exec/host, remediate clean <y> exec/host, remediate failing <z> exec/host, winrm scan/ping <r>
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import winrm_sim  # noqa: E402  (tools/winrm_sim.py)

STATES = os.path.join(ROOT, "tests", "sim", "states")
CLEAN = ["healthy.yml"]
# Failing hosts whose every failing check has a fix the opt-ins below allow (each is clean after remediate).
FAILING = [
    "vss_system_writer_timeout_zh-TW.yml",
    "registry_dotnet_wrong.yml",
    "registry_bcdr_wrong.yml",
    "registry_sql_wrong.yml",
    "machinekeys_extra_principals.yml",
    "com_msdtc_wrong_account.yml",
    "agent_stopped.yml",
    "installer_msiserver_disabled.yml",
]
OPT_IN = {
    "extension_failed_vss_writer_in_bad_state_restart": True,
    "extension_config_parsing_failure_reset_acl": True,
    "extension_config_parsing_failure_delete_certificates": True,
    "extension_snapshot_failed_com_restart": True,
}
PING_PLAY = """---
- name: Bench | ping-only play over the same fleet
  hosts: all
  gather_facts: false
  tasks:
    - name: Bench | ping
      ansible.windows.win_ping:
"""


def build_states(directory: str, count: int, templates: list[str]) -> dict:
    """Copy ``count`` state files round-robin from ``templates``: {host: {state, log}}."""
    os.makedirs(directory, exist_ok=True)
    hosts = {}
    for i in range(count):
        name = f"win{i:04d}"
        state = os.path.join(directory, f"{name}.yml")
        shutil.copyfile(os.path.join(STATES, templates[i % len(templates)]), state)
        hosts[name] = {"state": state, "log": state + ".log.jsonl"}
    return hosts


def write_inventory(path: str, group_vars: dict, per_host: dict) -> str:
    inventory = {"all": {"children": {"windows": {"hosts": per_host, "vars": group_vars}}}}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the winrm one holds the generated password
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(inventory, handle)
    return path


def executions(hosts: dict) -> dict[str, list[dict]]:
    out = {}
    for name, spec in hosts.items():
        entries = []
        if os.path.exists(spec["log"]):
            with open(spec["log"], encoding="utf-8") as handle:
                entries = [json.loads(line) for line in handle if line.strip()]
        out[name] = entries
    return out


def reset_logs(hosts: dict) -> None:
    for spec in hosts.values():
        if os.path.exists(spec["log"]):
            os.unlink(spec["log"])


def run(cmd: list[str], env: dict) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of one ansible-playbook run (the largest of it and its waited-for children)."""
    start = time.monotonic()
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=devnull, text=True)
        out = proc.stdout.read()
        dummy, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.stderr.write(out[-4000:])
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    return elapsed, usage.ru_maxrss


def per_host(counts: list[int]) -> float:
    return sum(counts) / len(counts) if counts else 0.0


def fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


class Bench:
    def __init__(self, args, env):
        self.args = args
        self.env = env
        self.playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
        self.peak_rss = 0
        self.rows = []

    def play(self, inventory: str, playbook: str, extra: dict | None = None) -> float:
        # A failing fleet is what the bench measures: the run's exit status must not stop it.
        cmd = [
            self.playbook,
            "-i",
            inventory,
            playbook,
            "-e",
            json.dumps({"vmbackup_fail_on": "never", **(extra or {})}),
        ]
        elapsed, rss = run(cmd, self.env)
        self.peak_rss = max(self.peak_rss, rss)
        return elapsed

    def transport(self, label: str, inventories: dict, fleets: dict, ping_play: str) -> dict:
        """ping, scan, remediate clean, remediate failing over one transport; returns exec/host figures."""
        workdir = self.args.workdir
        figures = {}
        ping = self.play(inventories["failing"], ping_play)
        reset_logs(fleets["failing"])
        report = os.path.join(workdir, f"{label}-scan.json")
        scan = self.play(inventories["failing"], "playbooks/scan.yml", {"vmbackup_report_path": report})
        counts = [len(e) for e in executions(fleets["failing"]).values()]
        with open(report, encoding="utf-8") as handle:
            failing_before = json.load(handle)["summary"]["hosts_failing"]
        figures["scan"] = per_host(counts)
        self.rows.append((label, "ping-only play", 1.0, ping, 1.0, ""))
        self.rows.append(
            (
                label,
                "scan (failing fleet)",
                figures["scan"],
                scan,
                scan / ping,
                f"{failing_before}/{len(counts)} hosts failing",
            )
        )

        reset_logs(fleets["clean"])
        report = os.path.join(workdir, f"{label}-remediate-clean.json")
        clean = self.play(inventories["clean"], "playbooks/remediate.yml", {"vmbackup_report_path": report})
        counts = [len(e) for e in executions(fleets["clean"]).values()]
        figures["clean"] = per_host(counts)
        self.rows.append(
            (
                label,
                "remediate (clean fleet)",
                figures["clean"],
                clean,
                clean / ping,
                f"min {min(counts)} max {max(counts)}",
            )
        )

        reset_logs(fleets["failing"])
        report = os.path.join(workdir, f"{label}-remediate-failing.json")
        failing = self.play(
            inventories["failing"], "playbooks/remediate.yml", {**OPT_IN, "vmbackup_report_path": report}
        )
        logs = executions(fleets["failing"])
        counts = [len(e) for e in logs.values()]
        changes = {h: sum(1 for x in e if x["changed"] and not x["check_mode"]) for h, e in logs.items()}
        at_target = sum(1 for h, e in logs.items() if len(e) == 2 + changes[h])
        figures["failing"] = per_host(counts)
        figures["failing_changes"] = per_host(list(changes.values()))
        self.rows.append(
            (
                label,
                "remediate (failing fleet)",
                figures["failing"],
                failing,
                failing / ping,
                f"min {min(counts)} max {max(counts)}; state-changing calls/host "
                f"{fmt(figures['failing_changes'])}; hosts at 2 + changes: {at_target}/{len(counts)}",
            )
        )
        figures["scan_ping"] = scan / ping
        return figures

    def print(self, hosts: int) -> None:
        print(
            f"hosts: {hosts} simulated Windows hosts per fleet, forks {self.args.forks}, "
            f"winrm latency {self.args.winrm_latency} s/request"
        )
        print(f"{'transport':<8} {'run':<26} {'exec/host':>9} {'wall s':>8} {'/ping':>6}  notes")
        for label, name, per, wall, ratio, notes in self.rows:
            print(f"{label:<8} {name:<26} {fmt(per):>9} {wall:>8.1f} {ratio:>6.2f}  {notes}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=60)
    parser.add_argument("--forks", type=int, default=20)
    parser.add_argument("--winrm-latency", type=float, default=0.0, help="seconds added to every WinRM request")
    parser.add_argument("--workdir", default=os.path.join(ROOT, "build", "bench"))
    args = parser.parse_args()

    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    ping_play = os.path.join(args.workdir, "ping.yml")
    with open(ping_play, "w", encoding="utf-8") as handle:
        handle.write(PING_PLAY)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_FORKS=str(args.forks))
    bench = Bench(args, env)

    results = {}
    servers = []
    try:
        for label in ("winsim", "winrm"):
            inventories = {}
            fleets = {}
            for kind, templates in (("clean", CLEAN), ("failing", FAILING)):
                fleets[kind] = fleet = build_states(os.path.join(args.workdir, label, kind), args.hosts, templates)
                path = os.path.join(args.workdir, f"{label}-{kind}.json")
                if label == "winsim":
                    per = {name: {"vmbackup_winsim_state": spec["state"]} for name, spec in fleet.items()}
                    inventories[kind] = write_inventory(path, {"ansible_connection": "vmbackup.azure.winsim"}, per)
                else:  # one WinRM endpoint server per fleet (the two fleets use the same host names)
                    pki = os.path.join(args.workdir, label, kind, "pki")
                    server, conn = winrm_sim.start(pki, fleet, latency=args.winrm_latency)
                    servers.append(server)
                    inventories[kind] = write_inventory(path, conn, winrm_sim.inventory_hosts(fleet, conn))
            results[label] = bench.transport(label, inventories, fleets, ping_play)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()

    bench.print(args.hosts)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"controller peak RSS: {bench.peak_rss / 1024:.0f} MiB (largest ansible-playbook process); "
        f"this script with the WinRM servers: {own / 1024:.0f} MiB"
    )
    sim = results["winsim"]
    print(
        f"bench: scan {fmt(sim['scan'])} exec/host, remediate clean {fmt(sim['clean'])} exec/host, "
        f"remediate failing {fmt(sim['failing'])} exec/host, winrm scan/ping {results['winrm']['scan_ping']:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
