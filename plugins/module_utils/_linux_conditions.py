# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Report-only conditions of a Linux guest: gather (read only) and evaluators (internal).

The same codes as the Windows side (``_windows_conditions.py`` on the controller; ``_extension_status.py``), Linux data:

* ``GuestDhcpDisabled``: a NIC whose configuration is static. Read from the configuration files
  of every network stack a distribution may use - ifupdown (``/etc/network/interfaces`` and
  ``interfaces.d``), NetworkManager keyfiles (``/etc/NetworkManager/system-connections``), RHEL
  ``ifcfg`` files, systemd-networkd ``.network`` files (``/etc``, ``/run`` - where netplan
  renders its YAML for networkd - and ``/usr/lib``) - and from DHCP lease files (dhclient,
  NetworkManager, systemd-networkd). Decision: a NIC uses DHCP when a configuration says so or a
  lease for it exists; it is static when a configuration sets an address without DHCP and no lease
  exists; otherwise it is ``unknown`` (reported, not a failure). Nothing is queried over the network
  and no daemon is asked (``nmcli`` would need NetworkManager running).
  NICs: ``/sys/class/net`` entries with a ``device`` (physical or synthetic hardware), except
  those enslaved to another (``master``: Azure accelerated-networking VFs carry no address).
* ``AzureEndpointUnreachable``: names that do not resolve (``getaddrinfo`` in threads, bounded
  wait). The names are the Windows side's ``vmbackup_azure_endpoint_names``.
* ``HighResourceUsage``: CPU busy over a short ``/proc/stat`` sample and memory in use
  (``MemTotal - MemAvailable`` of ``/proc/meminfo``) above the threshold (90 %).
* ``SnapshotExtensionLoadFailed``: the newest ``.status`` file (highest sequence number) of the
  Linux backup extension, ``<Lib.Dir>/Microsoft.Azure.RecoveryServices.VMSnapshotLinux-<ver>/status/<seq>.status``
  (field-notes section 2); its last error code goes into the report.

Off Azure (no Azure chassis asset tag) the gather skips these (no DNS lookups leave a lab
network) and the evaluators say ``not_applicable``, unless ``azure_only`` is false.
"""

from __future__ import annotations

import glob
import os
import socket
import threading
import time
from collections.abc import Callable

from ansible_collections.vmbackup.azure.plugins.module_utils._extension_status import evaluate_extension_status
from ansible_collections.vmbackup.azure.plugins.module_utils._findings import make_finding
from ansible_collections.vmbackup.azure.plugins.module_utils._linux_agent import parse_waagent_conf, read_waagent_conf
from ansible_collections.vmbackup.azure.plugins.module_utils._linux_host import read_file

EXTENSION_GLOB = "Microsoft.Azure.RecoveryServices.VMSnapshotLinux-*"
DEFAULT_THRESHOLD = 90
STATUS_MAX_BYTES = 1024 * 1024


# ---------------------------------------------------------------------------------------------
# DHCP


def nics(sys_net: str = "/sys/class/net") -> list:
    """Names of the hardware NICs (``device`` link present, not enslaved to a bond/VF master)."""
    out = []
    try:
        names = sorted(os.listdir(sys_net))
    except OSError:
        return out
    for name in names:
        base = os.path.join(sys_net, name)
        if name == "lo" or not os.path.exists(os.path.join(base, "device")):
            continue
        if os.path.exists(os.path.join(base, "master")):
            continue
        out.append(name)
    return out


def parse_ifupdown(text: str) -> dict:
    """``{iface: method}`` from /etc/network/interfaces (``iface eth0 inet dhcp``; inet6 ignored)."""
    out = {}
    for line in (text or "").splitlines():
        parts = line.split("#", 1)[0].split()
        if len(parts) >= 4 and parts[0] == "iface" and parts[2] == "inet":
            out[parts[1]] = parts[3].lower()
    return out


def _ini(text: str) -> dict:
    """A tolerant ``{section: {key: value}}`` of INI-like files (last value wins, keys as written)."""
    current = {}
    sections = {"": current}
    for line in (text or "").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            current = sections.setdefault(stripped[1:-1].strip(), {})
            continue
        key, sep, value = stripped.partition("=")
        if sep:
            current[key.strip()] = value.strip().strip('"')
    return sections


def parse_networkd(text: str) -> dict:
    """``{match_names: [...], dhcp: bool, addresses: [...]}`` of a systemd-networkd ``.network`` file."""
    sections = _ini(text)
    names = (sections.get("Match") or {}).get("Name", "").split()
    net = sections.get("Network") or {}
    dhcp = net.get("DHCP", "no").lower() in ("yes", "ipv4", "true", "both")
    addresses = [v for k, v in net.items() if k == "Address"] + (
        [(sections.get("Address") or {}).get("Address")] if (sections.get("Address") or {}).get("Address") else []
    )
    return {"match_names": names, "dhcp": dhcp, "addresses": [a for a in addresses if a]}


def parse_nm_keyfile(text: str) -> dict:
    """``{interface, method}`` of a NetworkManager keyfile (``[ipv4] method=auto|manual|disabled``)."""
    sections = _ini(text)
    conn = sections.get("connection") or {}
    return {"interface": conn.get("interface-name"), "method": (sections.get("ipv4") or {}).get("method", "auto")}


def parse_ifcfg(text: str) -> dict:
    """``{device, bootproto, ipaddr}`` of a RHEL ``ifcfg-*`` file."""
    values = _ini(text).get("") or {}
    return {
        "device": values.get("DEVICE") or values.get("NAME"),
        "bootproto": (values.get("BOOTPROTO") or "none").lower(),
        "ipaddr": values.get("IPADDR") or values.get("IPADDR0"),
    }


def _networkd_matches(patterns: list, nic: str) -> bool:
    import fnmatch

    return any(fnmatch.fnmatchcase(nic, p) for p in patterns)


def gather_dhcp(root: str = "/", sys_net: str = "/sys/class/net") -> list:
    """Per NIC: ``{name, method: dhcp|static|unknown, sources: [...]}`` from configuration and lease files."""

    def path(*parts) -> str:
        return os.path.join(root, *[p.lstrip("/") for p in parts])

    result = []
    interfaces_text = (read_file(path("/etc/network/interfaces"), "") or "") + "\n".join(
        read_file(f, "") or "" for f in sorted(glob.glob(path("/etc/network/interfaces.d/*")))
    )
    ifupdown = parse_ifupdown(interfaces_text)
    networkd_files = {}
    for directory in (
        "/usr/lib/systemd/network",
        "/lib/systemd/network",
        "/run/systemd/network",
        "/etc/systemd/network",
    ):
        for f in sorted(glob.glob(path(directory, "*.network"))):
            networkd_files[os.path.basename(f)] = f  # /etc overrides /run overrides /usr/lib (same name)
    networkd = [(name, parse_networkd(read_file(f, ""))) for name, f in sorted(networkd_files.items())]
    keyfiles = [
        parse_nm_keyfile(read_file(f, "")) for f in sorted(glob.glob(path("/etc/NetworkManager/system-connections/*")))
    ]
    ifcfgs = [parse_ifcfg(read_file(f, "")) for f in sorted(glob.glob(path("/etc/sysconfig/network-scripts/ifcfg-*")))]
    ifcfgs += [parse_ifcfg(read_file(f, "")) for f in sorted(glob.glob(path("/etc/sysconfig/network/ifcfg-*")))]
    lease_globs = (
        "/var/lib/dhcp/dhclient*{nic}*.lease*",
        "/var/lib/dhclient/dhclient*{nic}*.lease*",
        "/var/lib/NetworkManager/*{nic}*.lease",
        "/var/lib/wicked/lease-{nic}-*",
    )
    for nic in nics(sys_net):
        sources = []
        methods = []
        if nic in ifupdown:
            m = ifupdown[nic]
            methods.append("dhcp" if m == "dhcp" else ("static" if m == "static" else "unknown"))
            sources.append(f"/etc/network/interfaces: inet {m}")
        for name, net in networkd:
            if net["match_names"] and _networkd_matches(net["match_names"], nic):
                if net["dhcp"]:
                    methods.append("dhcp")
                elif net["addresses"]:
                    methods.append("static")
                sources.append(f"networkd {name}: DHCP={'yes' if net['dhcp'] else 'no'}")
                break  # networkd applies the first matching file (lexical order)
        for kf in keyfiles:
            if kf["interface"] == nic:
                methods.append(
                    "dhcp" if kf["method"] == "auto" else ("static" if kf["method"] == "manual" else "unknown")
                )
                sources.append(f"NetworkManager keyfile: ipv4.method={kf['method']}")
        for cfg in ifcfgs:
            if cfg["device"] == nic:
                methods.append("dhcp" if cfg["bootproto"] == "dhcp" else ("static" if cfg["ipaddr"] else "unknown"))
                sources.append(f"ifcfg: BOOTPROTO={cfg['bootproto']}")
        leases = []
        for pattern in lease_globs:
            leases += glob.glob(path(pattern.format(nic=nic)))
        ifindex = (read_file(os.path.join(sys_net, nic, "ifindex"), "") or "").strip()
        if ifindex and os.path.exists(path("/run/systemd/netif/leases", ifindex)):
            leases.append(path("/run/systemd/netif/leases", ifindex))
        if leases:
            sources.append("lease file " + ", ".join(sorted(leases)[:2]))
        if "dhcp" in methods or leases:
            method = "dhcp"
        elif "static" in methods:
            method = "static"
        else:
            method = "unknown"
        result.append({"name": nic, "method": method, "sources": sources})
    return result


# ---------------------------------------------------------------------------------------------
# DNS


def resolve_names(names: list, timeout: float = 5.0, resolver: Callable | None = None) -> list:
    """``[{name, resolved, addresses, error}]``: every name looked up in parallel, waiting ``timeout`` s at most."""
    resolver = resolver or socket.getaddrinfo
    results = {name: {"name": name, "resolved": False, "addresses": [], "error": "timed out"} for name in names}

    def one(name: str) -> None:
        try:
            infos = resolver(name, 443, proto=socket.IPPROTO_TCP)
            addresses = sorted({info[4][0] for info in infos})
            results[name] = {"name": name, "resolved": bool(addresses), "addresses": addresses[:4], "error": None}
        except OSError as exc:
            results[name] = {"name": name, "resolved": False, "addresses": [], "error": str(exc)}

    threads = [threading.Thread(target=one, args=(n,), daemon=True) for n in names]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [results[n] for n in names]


# ---------------------------------------------------------------------------------------------
# CPU and memory


def parse_proc_stat_cpu(text: str) -> tuple:
    """``(busy, total)`` jiffies of the aggregate ``cpu`` line of /proc/stat (idle + iowait count as idle)."""
    for line in (text or "").splitlines():
        parts = line.split()
        if parts and parts[0] == "cpu":
            values = [int(v) for v in parts[1:] if v.isdigit()]
            total = sum(values[:8])  # user nice system idle iowait irq softirq steal (guest is inside user)
            idle = values[3] + (values[4] if len(values) > 4 else 0)
            return total - idle, total
    return None


def parse_meminfo(text: str) -> dict:
    """``{MemTotal: kB, MemAvailable: kB, ...}``."""
    out = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition(":")
        parts = value.split()
        if sep and parts and parts[0].isdigit():
            out[key.strip()] = int(parts[0])
    return out


def gather_resources(sample_seconds: float = 1.0, proc: str = "/proc") -> dict:
    first = parse_proc_stat_cpu(read_file(os.path.join(proc, "stat"), ""))
    time.sleep(sample_seconds)
    second = parse_proc_stat_cpu(read_file(os.path.join(proc, "stat"), ""))
    cpu = None
    if first and second and second[1] > first[1]:
        cpu = round(100.0 * (second[0] - first[0]) / (second[1] - first[1]), 1)
    mem = parse_meminfo(read_file(os.path.join(proc, "meminfo"), ""))
    mem_pct = None
    if mem.get("MemTotal") and "MemAvailable" in mem:
        mem_pct = round(100.0 * (mem["MemTotal"] - mem["MemAvailable"]) / mem["MemTotal"], 1)
    load = (read_file(os.path.join(proc, "loadavg"), "") or "").split()[:3]
    return {
        "cpu_percent": cpu,
        "memory_percent": mem_pct,
        "memory_total_kb": mem.get("MemTotal"),
        "loadavg": load,
        "cpus": os.cpu_count(),
        "sample_seconds": sample_seconds,
    }


# ---------------------------------------------------------------------------------------------
# The extension's status files


def _seq(path: str) -> int:
    name = os.path.basename(path)
    stem = name[: -len(".status")] if name.endswith(".status") else name
    return int(stem) if stem.isdigit() else -1


def newest_status(lib_dir: str = "/var/lib/waagent") -> dict:
    """``{found, path, sequence, handler, content, mtime, count}`` of the newest ``.status`` (highest sequence).

    Looks under ``lib_dir`` and ``/var/lib/waagent`` (extensions use the latter whatever ``Lib.Dir`` says,
    Azure/WALinuxAgent issue 2949).
    """
    files = sorted(
        set(glob.glob(os.path.join(lib_dir, EXTENSION_GLOB, "status", "*.status")))
        | set(glob.glob(os.path.join("/var/lib/waagent", EXTENSION_GLOB, "status", "*.status")))
    )
    if not files:
        return {"found": False, "lib_dir": lib_dir, "count": 0}

    def key(path: str) -> tuple:
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            mtime = 0
        return (_seq(path), mtime)

    best = max(files, key=key)
    content = read_file(best, None, limit=STATUS_MAX_BYTES)
    return {
        "found": True,
        "path": best,
        "sequence": _seq(best),
        "handler": os.path.basename(os.path.dirname(os.path.dirname(best))),
        "content": content,
        "mtime": key(best)[1],
        "count": len(files),
    }


def agent_lib_dir(conf_path: str = "/etc/waagent.conf") -> str:
    """``Lib.Dir`` of the agent's configuration, read as the agent reads it (default /var/lib/waagent)."""
    return parse_waagent_conf(read_waagent_conf(conf_path)[0] or "").get("Lib.Dir") or "/var/lib/waagent"


def gather_conditions(
    endpoint_names: list | tuple = (),
    dns_timeout: float = 5.0,
    cpu_sample_seconds: float = 1.0,
    conf_path: str = "/etc/waagent.conf",
) -> dict:
    lib_dir = agent_lib_dir(conf_path)
    return {
        "nics": gather_dhcp(),
        "dns": resolve_names(list(endpoint_names), timeout=dns_timeout),
        "resources": gather_resources(cpu_sample_seconds),
        "extension_status": newest_status(lib_dir),
    }


# ---------------------------------------------------------------------------------------------
# Evaluators (controller side; they read ``vmbackup_linux.conditions``)


def _conditions(facts: dict, code: str, key: str) -> tuple:
    cond = facts.get("conditions") if isinstance(facts, dict) else None
    if not isinstance(cond, dict):
        return None, make_finding(code, "error", "the gathered facts have no conditions section")
    if cond.get("skipped"):
        return None, make_finding(code, "not_applicable", cond["skipped"])
    if key in (cond.get("errors") or {}):
        return None, make_finding(code, "error", f"gathering {key} failed: {cond['errors'][key]}")
    if key not in cond:
        return None, make_finding(code, "error", f"the gathered facts have no {key}")
    return cond[key], None


def evaluate_linux_dhcp(facts: dict, options: dict | None = None) -> dict:
    code = "GuestDhcpDisabled"
    data, error = _conditions(facts, code, "nics")
    if error:
        return error
    if not data:
        return make_finding(code, "not_applicable", "no hardware network interface found")
    static = [n for n in data if n["method"] == "static"]
    unknown = [n for n in data if n["method"] == "unknown"]
    dhcp = [n for n in data if n["method"] == "dhcp"]
    if static:
        detail = "; ".join(f"{n['name']} is configured statically ({', '.join(n['sources'])})" for n in static)
        fix = (
            "report only: set the private IP address in Azure (NIC IP configuration, static allocation) and let the "
            "guest use DHCP for " + ", ".join(n["name"] for n in static) + "; changing it in the guest can cut the"
            " connection, so the collection does not"
        )
        actions = [
            {"action": "enable_dhcp", "interface": n["name"], "allowed": False, "disruptive": True, "reason": fix}
            for n in static
        ]
        return make_finding(code, "fail", detail, fix, actions)
    parts = []
    if dhcp:
        parts.append("DHCP on " + ", ".join(n["name"] for n in dhcp))
    if unknown:
        parts.append(
            "no configuration or lease found for " + ", ".join(n["name"] for n in unknown) + " (could not tell)"
        )
    return make_finding(code, "pass", "; ".join(parts))


def evaluate_linux_dns(facts: dict, options: dict | None = None) -> dict:
    code = "AzureEndpointUnreachable"
    data, error = _conditions(facts, code, "dns")
    if error:
        return error
    if not data:
        return make_finding(code, "not_applicable", "no Azure endpoint names to check (vmbackup_azure_endpoint_names)")
    failed = [d for d in data if not d["resolved"]]
    if failed:
        detail = "; ".join(f"{d['name']} does not resolve ({d['error']})" for d in failed)
        return make_finding(
            code,
            "fail",
            detail,
            "report only: fix the DNS configuration (resolver, private DNS zones), routes, NSG rules or the proxy so "
            + ", ".join(d["name"] for d in failed)
            + " resolve from the VM",
        )
    return make_finding(code, "pass", "resolved: " + ", ".join(f"{d['name']} ({d['addresses'][0]})" for d in data))


def evaluate_linux_resources(facts: dict, options: dict | None = None) -> dict:
    code = "HighResourceUsage"
    data, error = _conditions(facts, code, "resources")
    if error:
        return error
    options = options or {}
    try:
        threshold = float(options.get("threshold", DEFAULT_THRESHOLD))
    except (TypeError, ValueError):
        return make_finding(code, "error", f"threshold: {options.get('threshold')!r} is not a number")
    cpu, mem = data.get("cpu_percent"), data.get("memory_percent")
    if cpu is None and mem is None:
        return make_finding(code, "error", "neither /proc/stat nor /proc/meminfo could be read")
    over = []
    if cpu is not None and cpu > threshold:
        over.append(
            f"CPU {cpu:.0f} % busy over {data.get('sample_seconds')} s"
            f" (load average {' '.join(data.get('loadavg') or [])})"
        )
    if mem is not None and mem > threshold:
        over.append(f"memory {mem:.0f} % in use")
    if over:
        return make_finding(
            code,
            "fail",
            "; ".join(over) + f" (threshold {threshold:.0f} %)",
            "report only: take an on-demand backup at a quieter time or move the backup schedule away from the peak;"
            " a bigger VM size if it stays busy",
        )
    return make_finding(
        code,
        "pass",
        f"CPU {cpu if cpu is not None else '?'} %, memory {mem if mem is not None else '?'} %"
        f" (threshold {threshold:.0f} %)",
    )


def evaluate_linux_extension_status(facts: dict, options: dict | None = None) -> dict:
    """The newest Linux VMSnapshot ``.status``: its last error code (parsed like the Windows one)."""
    code = "SnapshotExtensionLoadFailed"
    data, error = _conditions(facts, code, "extension_status")
    if error:
        return error
    if not data.get("found"):
        return make_finding(
            code,
            "not_applicable",
            f"no VMSnapshotLinux status file under {data.get('lib_dir') or '/var/lib/waagent'}"
            " (the extension never ran here)",
        )
    # The Windows probe's section has the same shape: {found, path, content}.
    finding = evaluate_extension_status({"extension_status": data}, options)
    finding["detail"] = finding["detail"].replace("the newest .status file", f"sequence {data.get('sequence')}")
    finding["error_code"] = code
    return finding
