#!/usr/bin/python
# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: waagent
short_description: Keep the Azure Linux agent installed, enabled and running (VmAgentNotRunning, NoVmAgent)
version_added: 0.2.0
description:
  - Guest side of C(NoVmAgent), C(AzureVmOffline), C(VmAgentNotRunning) and
    C(UserErrorVmProvisioningStateFailed) on Linux. Reads the agent's package, service,
    C(/etc/waagent.conf) and the mount of C(/var/lib/waagent), then fixes what the options allow.
  - Installs the agent from the B(distribution's repository) only (never from GitHub), with the
    distribution's package manager. Package names per distribution, first found wins - Debian 11 and
    later C(waagent) (older C(walinuxagent)); Ubuntu C(walinuxagent); RHEL family, Fedora, Azure Linux
    C(WALinuxAgent); SUSE C(python-azure-agent) (older C(WALinuxAgent)). On apt hosts the package
    lists are refreshed once when the package is not known yet.
  - Enables and starts the service (C(walinuxagent) on Debian/Ubuntu, C(waagent) elsewhere). Where no
    init system runs (a chroot or an image being prepared) the service is only enabled.
  - Sets C(Extensions.Enabled=y) in C(/etc/waagent.conf) when the agent reads it as off (that blocks every
    extension, the backup extension too), keeping a backup of the file. The agent reads it when it restarts;
    O(restart=true) restarts it.
  - The file is read exactly as the agent reads it (WALinuxAgent C(azurelinuxagent/common/conf.py)) -
    the file is read as bytes and decoded as strict UTF-8, lines end at C(\n) only (a lone C(\r) does not end
    a line), a line starting with C(#) is a comment, a value ends at the first C(#), double quotes and spaces
    are stripped, and a switch is off only for C(n) in any case (C(no), C(false), C(0) mean the default, on).
  - A waagent.conf the agent cannot read at all (not UTF-8, empty, unreadable) is an error naming the file and
    the reason; nothing is changed.
  - The edit follows a symlink to its target (as M(ansible.builtin.lineinfile) does), keeps every other line's
    bytes and line ending (CRLF stays CRLF), removes a partial backup on a full disk, and
    names the file and the reason in every error.
  - Reports, never changes, a C(noexec) mount under C(/var/lib/waagent) (remounting is disruptive).
  - Reports the agent version (C(waagent --version) - C(WALinuxAgent-<x>), C(Goal state agent) C(<y>)).
  - Restarting the agent happens only with O(restart=true).
  - Does nothing on hosts that are not Azure VMs (no Azure chassis asset tag in DMI) unless O(azure_only=false).
options:
  error_code:
    description: Which code's finding RV(finding) holds (the roles set it). The checks and fixes are the same.
    type: str
    choices: [VmAgentNotRunning, NoVmAgent, AzureVmOffline, UserErrorVmProvisioningStateFailed]
    default: VmAgentNotRunning
  azure_only:
    description:
      - Act only on Azure VMs (DMI chassis asset tag C(7783-7084-3265-9085-8269-3286-77)).
      - V(false) checks and fixes any Linux host, for example an image prepared for Azure in a chroot or a container.
    type: bool
    default: true
  install:
    description:
      - Install the agent package from the distribution's repository when it is missing.
      - Opt-in, like the Windows side of the agent roles (the same role variable decides both).
    type: bool
    default: false
  start:
    description: Enable the agent service and start it when it is not running.
    type: bool
    default: true
  extensions_enabled:
    description: Set C(Extensions.Enabled=y) in O(conf_path) when it is disabled.
    type: bool
    default: true
  restart:
    description:
      - Restart the agent service when this run changed something (O(conf_path), the package, the unit) or the
        agent is not running; a running agent with nothing changed is left alone (the second run reports no
        change). Disruptive; opt-in.
    type: bool
    default: false
  conf_path:
    description: The agent's configuration file.
    type: path
    default: /etc/waagent.conf
  package:
    description: Package name to use instead of the distribution's default names.
    type: str
  service_name:
    description: Service name to use instead of the distribution's default names.
    type: str
  backup:
    description: Keep a copy of O(conf_path) when it is rewritten.
    type: bool
    default: true
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads everything, reports what would change; installs, starts and writes nothing.
  diff_mode:
    support: full
    details: The configuration file, and the package and service state before and after.
  platform:
    support: full
    platforms: posix
    details: Linux guests (apt/dpkg, dnf/yum/rpm, zypper; systemd or SysV init).
requirements:
  - Root privileges (C(become=true)).
notes:
  - On Azure the agent's unit has C(ConditionVirtualization=microsoft) on Debian; off Azure/Hyper-V systemd
    does not start it. The task then fails saying so.
author:
  - vmbackup.azure maintainers (@vmbackup)
seealso:
  - module: vmbackup.azure.linux_backup_facts
  - module: vmbackup.azure.backup_scan
  - name: The Azure Linux VM agent
    description: Microsoft's troubleshooting page, section VM agent.
    link: https://learn.microsoft.com/azure/backup/backup-azure-vms-troubleshoot#vm-agent
"""

EXAMPLES = r"""
- name: Make sure the Azure Linux agent is installed, enabled and running
  vmbackup.azure.waagent:
    install: true
  become: true

- name: Prepare an image in a chroot (not an Azure VM yet)
  vmbackup.azure.waagent:
    azure_only: false
    install: true
  become: true

- name: Re-enable extensions and restart the agent
  vmbackup.azure.waagent:
    restart: true
  become: true
"""

RETURN = r"""
agent:
  description: What was read before the run (package, version, service, configuration, mount of /var/lib/waagent).
  returned: always
  type: dict
  sample:
    package: {manager: apt, name: waagent, installed: true, version: 2.7.3.0-4.1}
    version: {agent: 2.7.3.0, goal_state_agent: 2.7.3.0}
    service: {manager: systemd, name: walinuxagent, active: true, enabled: true}
    conf: {path: /etc/waagent.conf, extensions_enabled: "y"}
    lib_mount: {path: /var/lib/waagent, mountpoint: /, noexec: false}
done:
  description: What was done (or would be, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["install waagent (apt)", "enable walinuxagent"]
backup_file:
  description: The copy of O(conf_path).
  returned: when O(conf_path) was rewritten and O(backup=true)
  type: str
finding:
  description: The finding of O(error_code) before the run (the plan); the scan reports the same.
  returned: always
  type: dict
finding_after:
  description: The finding after the run (in check mode, the same as RV(finding)).
  returned: always
  type: dict
"""


from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vmbackup.azure.plugins.module_utils._conffile import (
    ConfFileError,
    backup,
    read_text,
    write_text,
)
from ansible_collections.vmbackup.azure.plugins.module_utils._linux_agent import (
    conf_disabled,
    evaluate_agent,
    gather_agent,
    set_conf_value,
)
from ansible_collections.vmbackup.azure.plugins.module_utils._linux_fs import read_mountinfo
from ansible_collections.vmbackup.azure.plugins.module_utils._linux_host import C_LOCALE

APT_ENV = dict(C_LOCALE, DEBIAN_FRONTEND="noninteractive")


class AgentError(Exception):
    pass


class Agent:
    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.p = module.params
        self.done = []

    def run(self, argv: list, env: dict | None = None) -> tuple:
        return self.module.run_command(argv, environ_update=env or C_LOCALE)

    def which(self, name: str) -> str | None:
        return self.module.get_bin_path(name)

    def gather(self) -> dict:
        return gather_agent(
            self.run,
            self.which,
            read_mountinfo(),
            conf_path=self.p["conf_path"],
            package=self.p["package"],
            service=self.p["service_name"],
        )

    def options(self) -> dict:
        return {k: self.p[k] for k in ("azure_only", "install", "start", "restart", "extensions_enabled", "package")}

    # -- install -------------------------------------------------------------------------------
    def _apt_candidate(self, names: list) -> str | None:
        for name in names:
            rc, out, dummy = self.run(["apt-cache", "policy", name])
            for line in out.splitlines():
                if line.strip().startswith("Candidate:") and "(none)" not in line:
                    return name
        return None

    def install(self, pkg: dict) -> None:
        names = pkg.get("candidates") or []
        manager = pkg.get("manager")
        if manager == "apt":
            name = self._apt_candidate(names)
            if name is None:
                if self.module.check_mode:
                    self.done.append(f"apt-get update, then install the first of {', '.join(names)} the repository has")
                    return
                rc, out, err = self.run(["apt-get", "update", "-q"], env=APT_ENV)
                if rc != 0:
                    raise AgentError(f"apt-get update failed (rc {rc}): {(err or out).strip()[-800:]}")
                self.done.append("apt-get update")
                name = self._apt_candidate(names)
            if name is None:
                raise AgentError(
                    f"the distribution's repositories have none of {', '.join(names)}: enable the repository that "
                    "carries the Azure Linux agent (never install it from GitHub)"
                )
            argv = ["apt-get", "install", "-y", "-q", name]
        elif manager in ("dnf", "yum"):
            name = names[0]
            argv = [manager, "-y", "install", *names]
        elif manager == "zypper":
            name = names[0]
            argv = ["zypper", "--non-interactive", "install", names[0]]
        else:
            raise AgentError("no supported package manager (apt, dnf, yum, zypper) found")
        self.done.append(f"install {name} ({manager})")
        if self.module.check_mode:
            return
        rc, out, err = self.run(argv, env=APT_ENV if manager == "apt" else None)
        if rc != 0:
            raise AgentError(f"{' '.join(argv)} failed (rc {rc}): {(err or out).strip()[-800:]}")

    # -- configuration -------------------------------------------------------------------------
    def enable_extensions(self, result: dict, diffs: list) -> bool:
        path = self.p["conf_path"]
        try:
            old, is_utf8 = read_text(path)
        except ConfFileError as exc:
            raise AgentError(str(exc)) from None
        new = set_conf_value(old, "Extensions.Enabled", "y")
        if new == old:
            return False
        if not is_utf8:
            # the agent decodes the file as strict UTF-8 and stops (_linux_agent.read_waagent_conf): an edit would
            # not make it readable, so nothing is changed
            raise AgentError(f"{path} is not UTF-8: the agent cannot read it; convert the file to UTF-8 (not changed)")
        show = new.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        before = old.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        diffs.append({"before_header": path, "after_header": path, "before": before, "after": show})
        self.done.append(f"set Extensions.Enabled=y in {path}")
        if self.module.check_mode:
            return True
        try:
            if self.p["backup"]:
                result["backup_file"] = backup(path)
            write_text(self.module, path, new)
        except ConfFileError as exc:
            raise AgentError(str(exc)) from None
        return True

    # -- service -------------------------------------------------------------------------------
    def systemctl(self, *args: str) -> None:
        systemctl = self.which("systemctl")
        if not systemctl:
            raise AgentError("systemctl not found")
        rc, out, err = self.run([systemctl, *args])
        if rc != 0:
            raise AgentError(f"systemctl {' '.join(args)} failed (rc {rc}): {(err or out).strip()}")

    def ensure_service(self, svc: dict) -> None:
        name = svc.get("name")
        if svc.get("manager") == "systemd" or (svc.get("unit_file") or "").endswith(".service"):
            if svc.get("enabled") is not True:
                self.done.append(f"enable {name}")
                if not self.module.check_mode:
                    self.systemctl("enable", name + ".service")
            if svc.get("manager") == "systemd" and svc.get("active") is not True:
                self.done.append(f"start {name}")
                if not self.module.check_mode:
                    self.systemctl("start", name + ".service")
        elif svc.get("manager") == "sysv" and svc.get("active") is not True:
            self.done.append(f"start {name}")
            if not self.module.check_mode:
                rc, out, err = self.run([self.which("service") or "service", name, "start"])
                if rc != 0:
                    raise AgentError(f"service {name} start failed (rc {rc}): {(err or out).strip()}")

    def restart(self, svc: dict) -> None:
        name = svc.get("name")
        self.done.append(f"restart {name}")
        if self.module.check_mode:
            return
        if svc.get("manager") == "systemd":
            self.systemctl("restart", name + ".service")
        else:
            rc, out, err = self.run([self.which("service") or "service", name, "restart"])
            if rc != 0:
                raise AgentError(f"service {name} restart failed (rc {rc}): {(err or out).strip()}")

    # -- main ------------------------------------------------------------------------------------
    def main(self) -> None:
        module, p = self.module, self.p
        code = p["error_code"]
        before = self.gather()
        opts = self.options()
        finding = evaluate_agent(before, opts, code)
        result = {"changed": False, "agent": before, "done": self.done, "finding": finding}
        if finding["status"] == "not_applicable":
            module.exit_json(finding_after=finding, **result)
        if finding["status"] == "error":
            # e.g. a waagent.conf the agent cannot read (not UTF-8, empty): nothing is planned from it
            module.fail_json(msg=f"{code}: {finding['detail']}", finding_after=finding, **result)
        allowed = {a["action"] for a in finding["actions"] if a["allowed"]}
        diffs = []
        state_before = _summary(before)
        failure = None
        try:
            facts = before
            if "install_agent" in allowed:
                self.install(before["package"])
                if not module.check_mode:
                    facts = self.gather()
            conf_changed = False
            if p["extensions_enabled"] and conf_disabled((facts.get("conf") or {}).get("extensions_enabled")):
                conf_changed = self.enable_extensions(result, diffs)
            if p["start"] and facts["package"].get("installed"):
                self.ensure_service(facts["service"])
            elif p["start"] and module.check_mode and "install_agent" in allowed:
                # what the install would be followed by (the unit does not exist yet)
                self.done.append(f"enable {facts['service'].get('name')}")
                if facts["service"].get("manager") in ("systemd", "sysv"):
                    self.done.append(f"start {facts['service'].get('name')}")
            # restart only when something changed or the agent is not running (a healthy agent is left alone)
            wants_restart = bool(self.done) or facts["service"].get("active") is not True
            if p["restart"] and wants_restart and facts["service"].get("manager") in ("systemd", "sysv"):
                if not any(d.startswith("start ") for d in self.done):
                    self.restart(facts["service"])
            elif conf_changed and not p["restart"]:
                module.warn(
                    "Extensions.Enabled=y takes effect when the agent restarts: run with restart: true or restart "
                    f"{facts['service'].get('name')} in a quiet moment"
                )
        except AgentError as exc:
            failure = str(exc)
        result["changed"] = bool(self.done)
        if not module.check_mode and self.done:
            after = self.gather()
            result["finding_after"] = evaluate_agent(after, opts, code)
            svc = after["service"]
            if failure is None and p["start"] and svc.get("manager") == "systemd" and svc.get("active") is False:
                why = (
                    "its unit condition is unmet (the Debian/Ubuntu unit has ConditionVirtualization=microsoft: "
                    "not an Azure/Hyper-V VM)"
                    if svc.get("condition_result") == "no"
                    else f"it is {svc.get('state')}/{svc.get('sub_state')}"
                )
                failure = f"started {svc.get('name')} but it is not running: {why}"
            state_after = _summary(after)
        else:
            result["finding_after"] = finding
            state_after = _predicted(state_before, self.done)
        if module._diff:
            diffs.insert(
                0,
                {
                    "before_header": "agent (package, service)",
                    "after_header": "agent (package, service)",
                    "before": state_before,
                    "after": state_after,
                },
            )
            result["diff"] = diffs
        if failure:
            module.fail_json(msg=f"{code}: {failure}", **result)
        module.exit_json(**result)


def _summary(facts: dict) -> str:
    pkg, svc = facts["package"], facts["service"]
    return (
        f"package: {pkg.get('name') or '/'.join(pkg.get('candidates') or [])} "
        f"{pkg.get('version') if pkg.get('installed') else 'not installed'}\n"
        f"service {svc.get('name')}: enabled={svc.get('enabled')} running={svc.get('active')}\n"
    )


def _predicted(before: str, done: list) -> str:
    lines = before.splitlines()
    if any(d.startswith("install ") for d in done):
        lines[0] = lines[0].replace("not installed", "installed")
    if any(d.startswith(("enable ", "start ")) for d in done):
        if any(d.startswith("enable ") for d in done):
            lines[1] = lines[1].replace("enabled=False", "enabled=True").replace("enabled=None", "enabled=True")
        if any(d.startswith("start ") for d in done):
            lines[1] = lines[1].replace("running=False", "running=True").replace("running=None", "running=True")
    return "\n".join(lines) + "\n"


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            error_code=dict(
                type="str",
                default="VmAgentNotRunning",
                choices=["VmAgentNotRunning", "NoVmAgent", "AzureVmOffline", "UserErrorVmProvisioningStateFailed"],
            ),
            azure_only=dict(type="bool", default=True),
            install=dict(type="bool", default=False),
            start=dict(type="bool", default=True),
            extensions_enabled=dict(type="bool", default=True),
            restart=dict(type="bool", default=False),
            conf_path=dict(type="path", default="/etc/waagent.conf"),
            package=dict(type="str"),
            service_name=dict(type="str"),
            backup=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    for name in ("package", "service_name"):
        value = module.params[name]
        if value is not None and (not value or any(c in value for c in " /\n\t")):
            module.fail_json(msg=f"{name}: {value!r} is not a package/service name")
    Agent(module).main()


if __name__ == "__main__":
    main()
