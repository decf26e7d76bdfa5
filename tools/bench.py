#!/usr/bin/env python3
"""Benchmark the fleet scan on simulated Windows hosts (a benchmark, not a timed test).

    .venv/bin/python tools/bench.py --hosts 60

Prints remote executions per host (from the simulator's per-host execution logs), the scan's
wall time, and the ratio of the scan's time to a ping-only play (ansible.windows.win_ping) over
the same fleet in the same run.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATES = os.path.join(ROOT, "tests", "sim", "states")
PING_PLAY = """---
- name: Bench | ping-only play over the same fleet
  hosts: all
  gather_facts: false
  tasks:
    - name: Bench | ping
      ansible.windows.win_ping:
"""


def build_fleet(workdir: str, count: int) -> str:
    templates = sorted(glob.glob(os.path.join(STATES, "*.yml")))
    if not templates:
        sys.exit(f"no simulator states in {STATES}")
    hosts = {}
    for i in range(count):
        template = templates[i % len(templates)]
        name = f"win{i:03d}"
        state = os.path.join(workdir, "states", f"{name}.yml")
        shutil.copyfile(template, state)
        hosts[name] = {"vmbackup_winsim_state": state, "vmbackup_winsim_log": state + ".log.jsonl"}
    inventory = {
        "all": {
            "children": {
                "windows": {"hosts": hosts, "vars": {"ansible_connection": "vmbackup.azure.winsim"}},
            }
        }
    }
    path = os.path.join(workdir, "inventory.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(inventory, handle)
    return path


def count_executions(workdir: str) -> dict[str, int]:
    counts = {}
    for log in glob.glob(os.path.join(workdir, "states", "*.log.jsonl")):
        with open(log, encoding="utf-8") as handle:
            counts[os.path.basename(log).split(".")[0]] = sum(1 for line in handle if line.strip())
    return counts


def reset_logs(workdir: str) -> None:
    for log in glob.glob(os.path.join(workdir, "states", "*.log.jsonl")):
        os.unlink(log)


def run(cmd: list[str], env: dict) -> float:
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=60)
    parser.add_argument("--forks", type=int, default=20)
    parser.add_argument("--workdir", default=os.path.join(ROOT, "build", "bench"))
    args = parser.parse_args()

    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(os.path.join(args.workdir, "states"))
    inventory = build_fleet(args.workdir, args.hosts)
    ping_play = os.path.join(args.workdir, "ping.yml")
    with open(ping_play, "w", encoding="utf-8") as handle:
        handle.write(PING_PLAY)

    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_FORKS=str(args.forks))
    bindir = os.path.dirname(sys.executable)
    playbook = os.path.join(bindir, "ansible-playbook")
    report = os.path.join(args.workdir, "scan.json")

    ping_time = run([playbook, "-i", inventory, ping_play], env)
    reset_logs(args.workdir)
    scan_time = run(
        [
            playbook,
            "-i",
            inventory,
            "playbooks/scan.yml",
            "-e",
            f"vmbackup_report_path={report}",
            "-e",
            "vmbackup_fail_on=never",
        ],
        env,
    )
    counts = count_executions(args.workdir)

    with open(report, encoding="utf-8") as handle:
        summary = json.load(handle)["summary"]
    per_host = sorted(counts.values())
    print(f"hosts (simulated Windows):      {args.hosts}  (forks {args.forks})")
    print(f"remote executions per host:     min {per_host[0]}, max {per_host[-1]}, total {sum(per_host)}")
    print(f"scan wall time:                 {scan_time:.1f} s  ({scan_time / args.hosts * 1000:.0f} ms/host)")
    print(f"ping-only play wall time:       {ping_time:.1f} s")
    print(f"scan / ping ratio:              {scan_time / ping_time:.2f}")
    print(f"hosts failing in the report:    {summary['hosts_failing']} of {summary['hosts']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
