# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Azure Linux agent (WALinuxAgent) of a Linux guest: gather (read only) and evaluators (internal).

Codes decided here, guest side (docs/fixes.md, corrected by field-notes section 2):

* ``NoVmAgent`` / ``AzureVmOffline``: the agent package is installed (from the distribution's
  repository; never from GitHub).
* ``VmAgentNotRunning``: installed, its service running and enabled, ``Extensions.Enabled`` not
  ``n`` in ``/etc/waagent.conf`` (MicrosoftDocs/azure-docs issue 42262), ``/var/lib/waagent`` not on a
  ``noexec`` mount (Azure/WALinuxAgent PR 2859), and the version ``waagent --version`` reports.
* ``UserErrorVmProvisioningStateFailed``: the guest side of the doc's fix ("make sure the VM agent
  service runs and restart it"): the service runs; the restart is opt-in.

Names differ per distribution and release (checked in the distributions' repositories):
Debian 11+ ships the agent as package ``waagent`` (older Debian and Ubuntu: ``walinuxagent``), with
service ``walinuxagent``; RHEL family and Azure Linux: package ``WALinuxAgent``, service ``waagent``;
SUSE: ``python-azure-agent`` (older media ``WALinuxAgent``), service ``waagent``.

Hosts that are not Azure VMs (no Azure chassis asset tag in DMI) get ``not_applicable`` unless the
option ``azure_only`` is false (preparing an image in a chroot or a container for Azure).
Pure standard library: the remote modules and the controller-side scan import it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from ansible_collections.vmbackup.azure.plugins.module_utils._conffile import (
    ConfFileError,
    dominant_ending,
    join_pairs,
    read_text,
    split_keepends,
)
from ansible_collections.vmbackup.azure.plugins.module_utils._findings import make_finding
from ansible_collections.vmbackup.azure.plugins.module_utils._linux_host import read_file

AGENT_CODES = ("VmAgentNotRunning", "NoVmAgent", "AzureVmOffline", "UserErrorVmProvisioningStateFailed")
WAAGENT_CONF = "/etc/waagent.conf"
AGENT_LIB = "/var/lib/waagent"
# Hyper-V sets this chassis asset tag on every Azure VM (cloud-init's ds-identify and WALinuxAgent use it).
AZURE_ASSET_TAG = "7783-7084-3265-9085-8269-3286-77"
DMI_DIR = "/sys/class/dmi/id"

# family -> (package names to try, in order; service names to try, in order)
PACKAGES = {
    "debian": (("waagent", "walinuxagent"), ("walinuxagent", "waagent")),
    "ubuntu": (("walinuxagent", "waagent"), ("walinuxagent", "waagent")),
    "redhat": (("WALinuxAgent",), ("waagent",)),
    "suse": (("python-azure-agent", "WALinuxAgent"), ("waagent",)),
}
UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")


def parse_os_release(text: str) -> dict:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            out[key.strip()] = value
    return out


def os_family(os_release: dict) -> str:
    """``debian``, ``ubuntu``, ``redhat``, ``suse`` or ``unknown`` from /etc/os-release fields."""
    ids = [os_release.get("ID", "").lower()] + os_release.get("ID_LIKE", "").lower().split()
    for ident in ids:
        if ident == "ubuntu":
            return "ubuntu"
        if ident in ("debian", "raspbian"):
            return "debian"
        if ident in ("rhel", "centos", "fedora", "rocky", "almalinux", "ol", "mariner", "azurelinux", "amzn"):
            return "redhat"
        if ident.startswith(("sles", "suse", "opensuse")):
            return "suse"
    return "unknown"


def parse_waagent_version(text: str) -> dict:
    """``{agent, goal_state_agent, python}`` from ``waagent --version`` (None for what is not printed)."""
    agent = re.search(r"WALinuxAgent-([0-9][0-9A-Za-z.+~-]*)", text or "")
    goal = re.search(r"Goal state agent:\s*([0-9][0-9A-Za-z.+~-]*)", text or "")
    python = re.search(r"Python:\s*([0-9][0-9.]*)", text or "")
    return {
        "agent": agent.group(1) if agent else None,
        "goal_state_agent": goal.group(1) if goal else None,
        "python": python.group(1) if python else None,
    }


def _conf_setting(line: str) -> tuple | None:
    """``(key, value)`` of one waagent.conf line as the agent reads it, or None.

    WALinuxAgent ``azurelinuxagent/common/conf.py`` ``ConfigurationProvider.load`` (2.7.3.0, Debian's
    ``waagent`` package; the same in Azure/WALinuxAgent master): a line that does not start with ``#``
    (no leading blanks skipped) and has a ``=``; key = text before the first ``=``, stripped; value =
    text after it up to the first ``#``, then ``strip('" ')`` and ``strip()``; the value ``None`` is
    no value (the default applies).
    """
    if line.startswith("#") or "=" not in line:
        return None
    key, _sep, rest = line.partition("=")
    value = rest.split("#")[0].strip('" ').strip()
    return key.strip(), (value if value != "None" else None)


def parse_waagent_conf(text: str) -> dict:
    """``{key: value}`` of /etc/waagent.conf exactly as the agent reads it (``_conf_setting``; the last line wins).

    The agent splits the text on ``\n`` only (``content.split('\n')``): form feed or U+2028 do not end a line.
    """
    out = {}
    for line in (text or "").split("\n"):
        setting = _conf_setting(line)
        if setting:
            out[setting[0]] = setting[1]
    return out


def conf_switch(value: str | None, default: bool = True) -> bool:
    """A waagent.conf switch as the agent's ``get_switch`` reads it: ``y``/``n`` in any case, else the default."""
    if value is not None and value.lower() == "y":
        return True
    if value is not None and value.lower() == "n":
        return False
    return default


def conf_disabled(value: str | None) -> bool:
    """True when ``Extensions.Enabled`` (a switch, default on) is off for the agent: ``n`` in any case only."""
    return conf_switch(value, True) is False


def set_conf_value(text: str, key: str, value: str) -> str:
    """``text`` with ``key=value``: the first line that sets ``key`` (as the agent reads lines) is replaced, the
    others removed; appended when absent. Every other line keeps its bytes and line ending (CRLF stays CRLF);
    lines end at ``\n`` only, as for the agent."""
    pairs = split_keepends(text or "")
    eol = dominant_ending(pairs)
    out, done = [], False
    for line, ending in pairs:
        setting = _conf_setting(line.rstrip("\r"))
        if setting and setting[0] == key:
            if not done:
                out.append([f"{key}={value}", ending or eol])
                done = True
            continue
        out.append([line, ending])
    if not done:
        if out and not out[-1][1]:
            out[-1][1] = _ending_for_last_line(out[-1][0], eol)
        out.append([f"{key}={value}", eol])
    return join_pairs(out)


def _ending_for_last_line(line: str, eol: str) -> str:
    r"""The ending an unterminated last line gets when a line is appended after it: the file's ``eol``, unless
    a CR would change how the agent reads the line, then LF alone.

    WALinuxAgent 2.7.3.0 (Debian's ``waagent`` 2.7.3.0-4.1) ``ConfigurationProvider.load``
    (azurelinuxagent/common/conf.py, line 49) reads a value as
    ``parts[1].split('#')[0].strip("\" ").strip()``: quotes and blanks are stripped before the rest of the
    whitespace, so ``Lib.Dir="/var/lib/waagent"`` reads ``/var/lib/waagent`` as the last line of a file but
    ``/var/lib/waagent"`` once a CR follows the closing quote.
    """
    if eol == "\r\n" and _conf_setting(line + "\r") != _conf_setting(line):
        return "\n"
    return eol


def mount_of(path: str, mounts: list) -> dict:
    """The mountinfo entry (``parse_mountinfo``) that holds ``path``: the longest matching mount point, last mounted."""
    best = None
    for entry in mounts:
        mp = entry["mountpoint"]
        holds = mp == "/" or path == mp or path.startswith(mp.rstrip("/") + "/")
        if holds and (best is None or len(mp) >= len(best["mountpoint"])):
            best = entry
    return best


def read_waagent_conf(path: str) -> tuple:
    """``(text, error)`` of waagent.conf read as the agent reads it; ``(None, None)`` when there is no file.

    WALinuxAgent 2.7.3.0 (Debian's ``waagent``) ``azurelinuxagent/common/conf.py`` ``load_conf_from_file``
    reads the file with ``azurelinuxagent/common/utils/fileutil.py`` ``read_file``: ``open(path, 'rb')``, then
    ``ustr(data, encoding='utf-8')`` (strict), and ``ConfigurationProvider.load`` splits on ``\n`` only. So the
    file is read as bytes (never Python's text mode, which also ends a line at a lone ``\r``). ``error`` says why
    the agent cannot read the file at all (``Agent.__init__`` in ``azurelinuxagent/agent.py`` then stops): not
    UTF-8 (``UnicodeDecodeError``), empty (``load``: "Can't not parse empty configuration") or unreadable.
    ``text`` is still returned (non-UTF-8 bytes as surrogates) when the file could be read.
    """
    if not os.path.lexists(path):
        return None, None
    try:
        text, is_utf8 = read_text(path)
    except ConfFileError as exc:
        return None, f"{exc}: the agent cannot read it either"
    if not is_utf8:
        return text, (
            f"{path} is not UTF-8: the agent cannot read it (it decodes the file as strict UTF-8 and stops with "
            "UnicodeDecodeError); convert the file to UTF-8"
        )
    if not text:
        return text, f"{path} is empty: the agent refuses an empty configuration and stops"
    return text, None


def azure_identity(dmi_dir: str = DMI_DIR) -> dict:
    """DMI evidence that this is an Azure VM: ``{azure, chassis_asset_tag, sys_vendor, product_name}``."""
    tag = (read_file(os.path.join(dmi_dir, "chassis_asset_tag"), "") or "").strip()
    vendor = (read_file(os.path.join(dmi_dir, "sys_vendor"), "") or "").strip()
    product = (read_file(os.path.join(dmi_dir, "product_name"), "") or "").strip()
    return {"azure": tag == AZURE_ASSET_TAG, "chassis_asset_tag": tag, "sys_vendor": vendor, "product_name": product}


def service_manager() -> str:
    """``systemd`` when systemd runs as init, ``sysv`` when another init runs, ``none`` in a chroot or image."""
    if os.path.isdir("/run/systemd/system"):
        return "systemd"
    init = read_file("/proc/1/comm", "") or ""
    try:
        same_root = os.stat("/proc/1/root/").st_ino == os.stat("/").st_ino
    except OSError:
        same_root = False
    if init.strip() in ("init", "openrc-init", "runit") and same_root:
        return "sysv"
    return "none"


def gather_agent(
    run_command: Callable,
    which: Callable,
    mounts: list,
    conf_path: str = WAAGENT_CONF,
    lib_dir: str = AGENT_LIB,
    package: str | None = None,
    service: str | None = None,
) -> dict:
    """Read-only facts about the agent. ``run_command(argv) -> (rc, out, err)`` (C locale);
    ``which(name) -> path or None``; ``mounts``: ``parse_mountinfo`` entries. Never raises.
    """
    facts = {"errors": []}
    osr = parse_os_release(read_file("/etc/os-release", "") or read_file("/usr/lib/os-release", "") or "")
    family = os_family(osr)
    facts["os"] = {"id": osr.get("ID"), "version_id": osr.get("VERSION_ID"), "family": family}
    facts["identity"] = azure_identity()
    candidates, services = PACKAGES.get(family, (("walinuxagent", "waagent", "WALinuxAgent"), ("waagent",)))
    if package:
        candidates = (package,)
    pkg = {"manager": None, "name": None, "installed": False, "version": None, "candidates": list(candidates)}
    if which("dpkg-query"):
        pkg["manager"] = "apt" if which("apt-get") else "dpkg"
        for name in candidates:
            rc, out, dummy = run_command(["dpkg-query", "-W", "-f", "${Status}\t${Version}", name])
            if rc == 0 and out.split("\t")[0].strip().endswith(" installed"):
                pkg.update(name=name, installed=True, version=out.split("\t", 1)[1].strip())
                break
    elif which("rpm"):
        pkg["manager"] = "zypper" if which("zypper") else ("dnf" if which("dnf") else "yum")
        for name in candidates:
            rc, out, dummy = run_command(["rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}", name])
            if rc == 0 and out.strip():
                pkg.update(name=name, installed=True, version=out.strip())
                break
    facts["package"] = pkg

    waagent = which("waagent")
    version = {"binary": waagent, "agent": None, "goal_state_agent": None, "python": None, "raw": ""}
    if waagent:
        rc, out, err = run_command([waagent, "--version"])
        version["raw"] = (out or err or "").strip()[:2000]
        version.update(parse_waagent_version(out + "\n" + err))
    facts["version"] = version

    manager = service_manager()
    svc = {"manager": manager, "name": None, "unit_file": None, "active": None, "enabled": None, "state": None}
    names = (service,) if service else services
    for name in names:
        for directory in UNIT_DIRS:
            unit = os.path.join(directory, name + ".service")
            if os.path.exists(unit):
                svc.update(name=name, unit_file=unit)
                break
        if svc["name"]:
            break
        if os.path.exists(os.path.join("/etc/init.d", name)):
            svc.update(name=name, unit_file=os.path.join("/etc/init.d", name))
            break
    if svc["name"] is None:
        svc["name"] = names[0]
    systemctl = which("systemctl")
    if systemctl and svc["unit_file"] and svc["unit_file"].endswith(".service"):
        rc, out, dummy = run_command([systemctl, "is-enabled", svc["name"] + ".service"])
        state = (out or "").strip().splitlines()[-1:] or [""]
        svc["enabled"] = state[0] in ("enabled", "enabled-runtime", "static", "alias", "indirect", "generated")
        svc["enabled_state"] = state[0]
        if manager == "systemd":
            rc, out, dummy = run_command(
                [systemctl, "show", svc["name"] + ".service", "-p", "ActiveState,SubState,ConditionResult"]
            )
            props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
            svc["state"] = props.get("ActiveState")
            svc["sub_state"] = props.get("SubState")
            svc["condition_result"] = props.get("ConditionResult")
            svc["active"] = props.get("ActiveState") in ("active", "reloading", "activating")
    elif manager == "sysv" and svc["unit_file"] and which("service"):
        rc, dummy, dummy2 = run_command([which("service"), svc["name"], "status"])
        svc["active"] = rc == 0
        svc["state"] = "running" if rc == 0 else "stopped"
    facts["service"] = svc

    conf_text, conf_error = read_waagent_conf(conf_path)
    conf = parse_waagent_conf(conf_text) if conf_text is not None else {}
    facts["conf"] = {
        "path": conf_path,
        "exists": conf_text is not None,
        "error": conf_error,
        "extensions_enabled": conf.get("Extensions.Enabled"),
        "auto_update": conf.get("AutoUpdate.Enabled"),
    }
    entry = mount_of(lib_dir, mounts) if mounts else None
    facts["lib_mount"] = {
        "path": lib_dir,
        "mountpoint": entry["mountpoint"] if entry else None,
        "options": entry["options"] if entry else "",
        "noexec": bool(entry and "noexec" in entry["mount_options"]),
    }
    return facts


# ---------------------------------------------------------------------------------------------
# Evaluators


def agent_options(options: dict) -> dict:
    options = dict(options or {})
    return {
        "azure_only": bool(options.get("azure_only", True)),
        "install": bool(options.get("install", False)),
        "start": bool(options.get("start", True)),
        "restart": bool(options.get("restart", False)),
        "extensions_enabled": bool(options.get("extensions_enabled", True)),
        "package": options.get("package") or None,
    }


def plan_agent(facts: dict, options: dict, code: str = "VmAgentNotRunning") -> tuple:
    """``(status, problems, actions, notes)`` of the agent for ``code`` (see the module docstring)."""
    opts = agent_options(options)
    problems, actions, notes = [], [], []
    pkg = facts.get("package") or {}
    svc = facts.get("service") or {}
    conf = facts.get("conf") or {}
    lib = facts.get("lib_mount") or {}
    version = facts.get("version") or {}
    if not pkg.get("installed"):
        cands = "/".join(pkg.get("candidates") or ["walinuxagent"])
        problems.append(f"the Azure Linux agent is not installed (package {cands} not found)")
        if pkg.get("manager") is None:
            actions.append(
                {"action": "install_agent", "allowed": False, "disruptive": False, "reason": "no dpkg or rpm found"}
            )
        else:
            actions.append(
                {
                    "action": "install_agent",
                    "package": cands,
                    "manager": pkg.get("manager"),
                    "allowed": opts["install"],
                    "disruptive": False,
                    "reason": "from the distribution's repository"
                    if opts["install"]
                    else "install not opted in (install: true installs it from the distribution's repository)",
                }
            )
    elif version.get("agent") or version.get("goal_state_agent"):
        notes.append(
            f"WALinuxAgent {version.get('agent') or '?'} (goal state agent {version.get('goal_state_agent') or '?'},"
            f" package {pkg.get('name')} {pkg.get('version')})"
        )
    elif pkg.get("installed"):
        notes.append(f"package {pkg.get('name')} {pkg.get('version')}")
    if code in ("NoVmAgent", "AzureVmOffline"):
        return problems, actions, notes

    installed_or_will = pkg.get("installed") or any(a["action"] == "install_agent" and a["allowed"] for a in actions)
    name = svc.get("name") or "waagent"
    manager = svc.get("manager")
    if pkg.get("installed") and svc.get("enabled") is False:
        problems.append(f"service {name} is not enabled at boot ({svc.get('enabled_state')})")
    if pkg.get("installed") and manager in ("systemd", "sysv") and svc.get("active") is False:
        cond = (
            " (its unit condition failed: ConditionVirtualization=microsoft is unmet off Azure/Hyper-V)"
            if (svc.get("condition_result") == "no")
            else ""
        )
        problems.append(f"service {name} is not running ({svc.get('state')}/{svc.get('sub_state')}){cond}")
    if pkg.get("installed"):
        needs_start = svc.get("enabled") is False or (manager in ("systemd", "sysv") and svc.get("active") is False)
    else:
        needs_start = installed_or_will
    if needs_start:
        actions.append(
            {
                "action": "start_agent",
                "service": name,
                "allowed": opts["start"],
                "disruptive": False,
                "reason": "enable and start the service" if opts["start"] else "start: false",
            }
        )
    if manager == "none" and pkg.get("installed"):
        notes.append(f"no init system runs here (an image or a chroot): {name} can only be enabled, not started")
    if conf.get("error"):
        # the agent cannot read its configuration at all: no edit of it is planned from what it cannot read
        problems.append(conf["error"])
    elif conf_disabled(conf.get("extensions_enabled")):
        problems.append(
            f"Extensions.Enabled={conf.get('extensions_enabled')} in {conf.get('path')}: the agent runs no extension,"
            " so neither the backup extension"
        )
        actions.append(
            {
                "action": "set_extensions_enabled",
                "path": conf.get("path"),
                "allowed": opts["extensions_enabled"],
                "disruptive": False,
                "reason": "set Extensions.Enabled=y (backup kept); the agent reads it when it restarts"
                if opts["extensions_enabled"]
                else "extensions_enabled: false",
            }
        )
    if lib.get("noexec"):
        problems.append(
            f"{lib.get('path')} is on {lib.get('mountpoint')} mounted noexec: extensions cannot run from it"
        )
        actions.append(
            {
                "action": "remount_exec",
                "mountpoint": lib.get("mountpoint"),
                "allowed": False,
                "disruptive": True,
                "reason": "report only: remove noexec from the mount options of "
                f"{lib.get('mountpoint')} in /etc/fstab and remount it (or move /var/lib/waagent) in a maintenance"
                " window",
            }
        )
    # a restart only when the fix changes the configuration, or (UserErrorVmProvisioningStateFailed) the agent
    # does not run and is not started by this fix: a healthy agent is never restarted
    starting = any(a["action"] == "start_agent" and a["allowed"] for a in actions)
    wants_restart = any(a["action"] == "set_extensions_enabled" and a["allowed"] for a in actions) or (
        code == "UserErrorVmProvisioningStateFailed" and svc.get("active") is not True and not starting
    )
    if pkg.get("installed") and wants_restart and manager in ("systemd", "sysv"):
        actions.append(
            {
                "action": "restart_agent",
                "service": name,
                "allowed": opts["restart"],
                "disruptive": True,
                "reason": "restart the agent"
                if opts["restart"]
                else "restart not opted in (restart: true restarts the agent service)",
            }
        )
    return problems, actions, notes


def evaluate_agent(facts: dict, options: dict | None = None, code: str = "VmAgentNotRunning") -> dict:
    """The finding of ``code`` (one of AGENT_CODES) from ``vmbackup_linux`` facts (key ``agent``)."""
    if code not in AGENT_CODES:
        raise ValueError(f"the Linux agent check decides {', '.join(AGENT_CODES)}, not {code}")
    agent = facts.get("agent") if isinstance(facts, dict) and "agent" in facts else facts
    if not isinstance(agent, dict) or "package" not in agent:
        return make_finding(code, "error", "the gathered facts have no agent section")
    opts = agent_options(options)
    identity = agent.get("identity") or {}
    if opts["azure_only"] and not identity.get("azure"):
        return make_finding(
            code,
            "not_applicable",
            "not an Azure VM (DMI chassis asset tag "
            f"{identity.get('chassis_asset_tag') or 'empty'!r}, vendor {identity.get('sys_vendor') or '?'!r}); "
            "set azure_only: false to check it anyway (e.g. an image prepared for Azure)",
        )
    problems, actions, notes = plan_agent(agent, opts, code)
    conf_error = (agent.get("conf") or {}).get("error") if code not in ("NoVmAgent", "AzureVmOffline") else None
    if conf_error:
        detail = "; ".join(problems + notes)
        return make_finding(
            code, "error", detail, "make the file one the agent can read (UTF-8, not empty), then run again"
        )
    restart_only = [a for a in actions if a["action"] == "restart_agent"]
    if code == "UserErrorVmProvisioningStateFailed" and not problems and restart_only:
        status = "pass"
        detail = "the agent service runs; the doc's step 'restart the agent' is opt-in (restart: true)"
        if not opts["restart"]:
            actions = []
    else:
        status = "fail" if problems else "pass"
        detail = (
            "; ".join(problems)
            if problems
            else "the Azure Linux agent is installed"
            + (
                ""
                if code in ("NoVmAgent", "AzureVmOffline")
                else (", enabled" if (agent.get("service") or {}).get("manager") == "none" else ", enabled and running")
            )
        )
    if notes:
        detail += "; " + "; ".join(notes)
    fix_parts = []
    for action in actions:
        if action["action"] == "install_agent":
            fix_parts.append(
                f"install {action.get('package')} with {action.get('manager')} from the distribution's repository"
                if action["allowed"]
                else "would not install the agent: " + action["reason"]
            )
        elif action["action"] == "start_agent":
            fix_parts.append(f"enable and start {action['service']}" if action["allowed"] else "would not start it")
        elif action["action"] == "set_extensions_enabled":
            fix_parts.append(f"set Extensions.Enabled=y in {action['path']} (backup kept)")
        elif action["action"] == "remount_exec":
            fix_parts.append(action["reason"])
        elif action["action"] == "restart_agent":
            fix_parts.append(f"restart {action['service']}" if action["allowed"] else action["reason"])
    if code == "AzureVmOffline" and status == "fail":
        fix_parts.append("then check the VM's provisionVMAgent flag in Azure and re-register the VM (control plane)")
    return make_finding(code, status, detail, "; ".join(fix_parts) if status == "fail" or actions else "", actions)


def evaluator_for(code: str) -> Callable:
    def evaluate(facts: dict, options: dict | None = None) -> dict:
        return evaluate_agent(facts, options, code)

    evaluate.__name__ = f"evaluate_linux_agent_{code}"
    return evaluate
