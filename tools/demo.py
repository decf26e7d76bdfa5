#!/usr/bin/env python3
"""`make demo`: scan the built-in demo fleet, triage its failed backup jobs, remediate (opting in), scan again.

The fleet (see demo/fleet.yml):
- simulated Windows VMs whose VSS writers failed in different ways, in different languages, reached
  the way real ones are: ansible's winrm connection plugin and pywinrm over HTTPS (basic auth, a CA
  made for the run) to tools/winrm_sim.py, a WS-Management endpoint on 127.0.0.1 that hands what
  Ansible sends to the Windows simulator (--connection winsim: the simulator's connection plugin);
- one real Linux test host: sshd on 127.0.0.1 (this machine, reached over real SSH) with a real
  ext4 data disk on a loop device, made unclean with debugfs.

Everything lives under build/demo/ and is torn down at the end (the loop device, the mount, sshd).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shlex
import shutil
import subprocess
import sys
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import linux_testhost  # noqa: E402  (tools/linux_testhost.py)
import winrm_sim  # noqa: E402  (tools/winrm_sim.py)

WORKDIR = os.path.join(ROOT, "build", "demo")
FLEET = os.path.join(ROOT, "demo", "fleet.yml")
BIN = os.path.dirname(sys.executable)


def banner(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def playbook(inventory: str, name: str, *extra: str) -> None:
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, os.path.join("playbooks", name), *extra]
    # quoted, so the printed command can be pasted into a shell as it is
    print("$ " + shlex.join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd), flush=True)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)


def summary(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        report = json.load(handle)
    return {
        host["host"]: sorted(f["error_code"] for f in host["findings"] if f["status"] in ("fail", "error"))
        for host in report["hosts"]
    }


def print_triage(path: str) -> None:
    """Which host gets which code from its newest failed job, and the jobs triage could not place."""
    with open(path, encoding="utf-8") as handle:
        report = json.load(handle)
    for host in report["hosts"]:
        codes = ", ".join(host["job"]["codes"]) if host.get("job") else ""
        print(f"  {host['host']:<16} job {host.get('job', {}).get('job_id', '?')[:8]}: {codes or host['error']}")
    for job in report["triage"]["unmapped"]:
        print(f"  UNMAPPED         job {job['job_id'][:8]} (VM {job['vm_name']}): {job['reason']}")
    for job in report["triage"]["unknown"]:
        print(f"  UNKNOWN          job {job['job_id'][:8]} (VM {job['vm_name']}): {job['reason']}")


def build_inventory(fleet: dict, linux: dict, connection: str) -> str:
    windows_hosts = {}
    sim_hosts = {}
    for name, spec in fleet["windows"].items():
        state = os.path.join(WORKDIR, "states", f"{name}.yml")
        shutil.copyfile(os.path.join(ROOT, spec["state"]), state)
        windows_hosts[name] = {"vmbackup_winsim_state": state, **(spec.get("vars") or {})}
        sim_hosts[name] = {"state": state, "log": state + ".log.jsonl"}
    windows_vars = {"ansible_connection": "vmbackup.azure.winsim"}
    if connection == "winrm":
        dummy, windows_vars = winrm_sim.start(os.path.join(WORKDIR, "winrm"), sim_hosts)
        for name in windows_hosts:
            windows_hosts[name]["ansible_winrm_path"] = f"/wsman/{name}"
    linux_hosts = {}
    for name, spec in fleet["linux"].items():
        linux_hosts[name] = {**linux["vars"], **(spec.get("vars") or {})}
        linux_hosts[name]["user_error_fs_freeze_failed_mounts"] = [linux["disk"]["mountpoint"]]
    inventory = {
        "all": {
            "children": {
                "windows": {"hosts": windows_hosts, "vars": windows_vars},
                "linux": {"hosts": linux_hosts},
            }
        }
    }
    path = os.path.join(WORKDIR, "inventory.yml")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the generated WinRM password
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(inventory, handle, sort_keys=False)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--connection",
        choices=("winrm", "winsim"),
        default="winrm",
        help="how the simulated Windows hosts are reached (default: winrm, over HTTPS)",
    )
    args = parser.parse_args()
    started = time.monotonic()
    with open(FLEET, encoding="utf-8") as handle:
        fleet = yaml.safe_load(handle)
    linux_testhost.teardown(WORKDIR)  # a previous demo that was interrupted
    shutil.rmtree(WORKDIR, ignore_errors=True)
    os.makedirs(os.path.join(WORKDIR, "states"))
    os.makedirs(os.path.join(WORKDIR, "reports"))
    try:
        banner("Building the demo fleet")
        linux = linux_testhost.setup(WORKDIR)
        print(
            f"Linux test host: sshd on 127.0.0.1:{linux['port']}, unclean ext4 {linux['disk']['device']} "
            f"mounted at {linux['disk']['mountpoint']}"
        )
        inventory = build_inventory(fleet, linux, args.connection)
        print(f"inventory: {os.path.relpath(inventory, ROOT)} (Windows hosts over {args.connection})")

        before = os.path.join(WORKDIR, "reports", "scan-before.json")
        after = os.path.join(WORKDIR, "reports", "scan-after.json")
        banner("1/4 Scan (check mode: nothing changes)")
        playbook(inventory, "scan.yml", "-e", f"vmbackup_report_path={before}")

        banner("2/4 Triage the failed Azure Backup jobs in demo/jobs-failed.json (check mode)")
        triage = os.path.join(WORKDIR, "reports", "triage.json")
        playbook(
            inventory,
            "triage.yml",
            "-e",
            f"vmbackup_triage_jobs_file={os.path.join(ROOT, 'demo', 'jobs-failed.json')}",
            "-e",
            f"vmbackup_report_path={triage}",
            # the demo's jobs include one with a code the catalog does not know, on purpose: by default
            # (vmbackup_fail_on=error) that host counts as not fully checked and the run exits non-zero
            "-e",
            "vmbackup_fail_on=never",
        )
        print_triage(triage)

        banner("2b/4 Live triage against the local ARM endpoint: control plane beside the guests")
        control_plane(inventory)

        banner("3/4 Remediate, opting in to service restarts and to fsck of unclean data disks")
        playbook(
            inventory,
            "remediate.yml",
            "-e",
            json.dumps(
                {
                    "extension_failed_vss_writer_in_bad_state_restart": True,
                    "user_error_fs_freeze_failed_repair": True,
                    "vmbackup_report_dir": os.path.join(WORKDIR, "reports", "remediate"),
                }
            ),
        )

        banner("4/4 Scan again")
        playbook(inventory, "scan.yml", "-e", f"vmbackup_report_path={after}")

        banner("Result")
        first, second = summary(before), summary(after)
        for host in first:
            print(
                f"  {host:<16} before: {', '.join(first[host]) or 'clean':<60} after: "
                f"{', '.join(second.get(host, [])) or 'clean'}"
            )
        executions = {}
        for log in sorted(glob.glob(os.path.join(WORKDIR, "states", "*.yml.log.jsonl"))):
            with open(log, encoding="utf-8") as handle:
                executions[os.path.basename(log)[: -len(".yml.log.jsonl")]] = sum(1 for line in handle if line.strip())
        print(
            "\nremote executions per Windows host (scan + triage + remediate + scan, from the simulator's log): "
            + ", ".join(f"{host} {count}" for host, count in executions.items())
        )
        print(f"\nreports: {os.path.relpath(before, ROOT)}  {os.path.relpath(after, ROOT)}")
        print(f"demo took {time.monotonic() - started:.0f} s")
        still = {host: codes for host, codes in second.items() if codes}
        if still:
            print(f"NOT CLEAN after remediation: {still}", file=sys.stderr)
            return 1
        return 0
    finally:
        linux_testhost.teardown(WORKDIR)


AZURE_PYTHON = os.path.join(ROOT, ".venv-azure", "bin", "python")
CONTROL_JOB = {
    "id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-backup/providers/"
    "Microsoft.RecoveryServices/vaults/rsv-demo/backupJobs/6c5b4a39-2e1d-4c0b-9a8f-7e6d5c4b3a10",
    "name": "6c5b4a39-2e1d-4c0b-9a8f-7e6d5c4b3a10",
    "type": "Microsoft.RecoveryServices/vaults/backupJobs",
    "properties": {
        "jobType": "AzureIaaSVMJob",
        "entityFriendlyName": "win-ok-us",
        "backupManagementType": "AzureIaasVM",
        "operation": "Backup",
        "status": "Failed",
        "startTime": "2026-03-03T01:00:00Z",
        "containerName": "iaasvmcontainerv2;rg-web;win-ok-us",
        "errorDetails": [
            {
                "errorCode": 400200,
                "errorString": "Extension state is not supportive to backup operation",
                "recommendations": ["Uninstall the VMSnapshot extension; the next backup reinstalls it."],
            }
        ],
    },
}


def print_control_plane(path: str, only: str = "") -> None:
    """Each host's failing findings (of one code, or all): the guest's and Azure's side by side in one report."""
    with open(path, encoding="utf-8") as handle:
        report = json.load(handle)
    for host in report["hosts"]:
        for finding in host["findings"]:
            if finding["status"] in ("fail", "error") and finding["error_code"] == (only or finding["error_code"]):
                changed = " (changed)" if finding.get("changed") else ""
                print(f"    {host['host']:<12} {finding['error_code']}: {finding['status']}{changed}"
                      f" -- {finding['detail'][:90]}")  # fmt: skip


def control_plane(inventory: str) -> None:
    """Live triage against the local ARM endpoint: jobs page by page -> hosts -> roles, guest and control plane."""
    import arm_endpoint  # noqa: PLC0415  (tools/arm_endpoint.py; imported here to keep the demo's head untouched)

    with open(os.path.join(ROOT, "demo", "jobs-failed.json"), encoding="utf-8") as handle:
        jobs = json.load(handle) + [CONTROL_JOB]
    ready = {"agent_status": "Ready", "extensions": {}}
    state = {
        "subscription": "00000000-0000-0000-0000-000000000000",
        "page_size": 3,
        "throttle": 1,
        "retry_after": 1,
        "vaults": {"rg-backup/rsv-demo": {"jobs": jobs}},
        "resource_groups": {"rg-web": {"location": "westeurope"}},
        "vms": {
            "rg-web/win-ok-us": {
                "os": "Windows",
                "agent_status": "Ready",
                "extensions": {"VMSnapshot": {"type": "VMSnapshot", "provisioning_state": "Deleting"}},
            },
            # what only Azure sees: a failed provisioning (a failed extension), a VM still starting, an agent
            # Azure does not see Ready; the guests of these hosts do not show any of it
            "rg-web/win-app-de": {
                "os": "Windows",
                "provisioning_state": "Failed",
                "agent_status": "Ready",
                "extensions": {
                    "DemoTools": {"publisher": "Contoso.Tools", "type": "DemoTools", "provisioning_state": "Failed"},
                    "VMSnapshot": {"type": "VMSnapshot", "provisioning_state": "Succeeded"},
                },
            },
            "rg-web/win-web-ja": {"os": "Windows", "power_state": "starting", **ready},
            "rg-web/win-keys-us": {"os": "Windows", "agent_status": "Not Ready", "extensions": {}},
            "rg-web/win-sql-tw": {"os": "Windows", **ready},
            "rg-web/lnx-data-01": {"os": "Linux", **ready},
        },
    }
    endpoint = arm_endpoint.ArmEndpoint(state).start()
    saved = dict(os.environ)
    os.environ.update(endpoint.env(), ANSIBLE_AZURE_AUTH_SOURCE="msi")
    try:
        print(f"local ARM endpoint {endpoint.url} (test CA {endpoint.ca_path}), proxy"
              f" {endpoint.proxy_url} for management.azure.com, managed identity token route")  # fmt: skip
        azure = {"vmbackup_azure_python": AZURE_PYTHON, "vmbackup_azure_resource_group": "rg-web"}
        report = os.path.join(WORKDIR, "reports", "scan-control-plane.json")
        playbook(inventory, "scan.yml", "-e", json.dumps({**azure, "vmbackup_azure_control_plane": True,
                                                          "vmbackup_report_path": report}))  # fmt: skip
        print_control_plane(report)
        print("  remediate UserErrorVmProvisioningStateFailed, opting in to removing the failed extensions:")
        report = os.path.join(WORKDIR, "reports", "remediate-control-plane.json")
        playbook(inventory, "remediate.yml", "-e", json.dumps({
            **azure, "vmbackup_error_codes": ["UserErrorVmProvisioningStateFailed"], "vmbackup_report_path": report,
            "user_error_vm_provisioning_state_failed_remove_failed_extensions": True,
        }))  # fmt: skip
        print_control_plane(report, "UserErrorVmProvisioningStateFailed")
        endpoint.state["throttle"] = 1  # the first job list page is answered 429 (Retry-After) first
        for remediate in (False, True):
            report = os.path.join(WORKDIR, "reports", f"triage-live-{'fix' if remediate else 'check'}.json")
            extra = {
                "vmbackup_triage_vault": {"name": "rsv-demo", "resource_group": "rg-backup"},
                "vmbackup_azure_python": AZURE_PYTHON,
                "vmbackup_report_path": report,
            }
            if remediate:  # only the control-plane code's host, with its opt-in
                extra.update(vmbackup_triage_remediate=True, vmbackup_hosts="win-ok-us",
                             extension_stuck_in_deletion_state_uninstall=True)  # fmt: skip
            playbook(inventory, "triage.yml", "-e", json.dumps(extra))
            print_triage(report)
            with open(report, encoding="utf-8") as handle:
                for host in json.load(handle)["hosts"]:
                    for finding in host["findings"]:
                        changed = " (changed)" if finding.get("changed") else ""
                        print(f"    {host['host']:<14} {finding['error_code']}: {finding['status']}{changed}"
                              f" -- {finding['detail'][:90]}")  # fmt: skip
        pages = [r for r in endpoint.requests if "backupJobs" in r["path"]]
        print(f"  job list requests: {len(pages)} (pages of 3, one answered 429 first); extensions removed:"
              f" {endpoint.deleted}")  # fmt: skip
    finally:
        os.environ.clear()
        os.environ.update(saved)
        endpoint.stop()


if __name__ == "__main__":
    sys.exit(main())
