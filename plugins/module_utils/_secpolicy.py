# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Security-policy exclusion of the Azure Linux agent for UserErrorVmNotInDesirableState.

Internal to the collection (leading underscore). Pure standard library so the remote modules
(``waagent_security_policy``, ``linux_backup_facts``) and the controller-side scan share it.

The doc's fix ("exclude the Azure Linux agent path /var/lib/waagent from the security policy")
means, per mechanism (reasoning and sources: roles/user_error_vm_not_in_desirable_state/README.md):

* SELinux: a local file-context rule labelling the extension handler directories
  ``/var/lib/waagent/<Publisher>.<Type>-<version>/`` (and the agent's own ``WALinuxAgent-<version>/``)
  ``bin_t``, then a relabel of those directories. ``bin_t`` is the type of ``/usr/bin``: every domain
  allowed to run ordinary programs may run them, where the default ``var_lib_t`` is data.
* fapolicyd: a rules file ``/etc/fapolicyd/rules.d/40-vmbackup-waagent.rules`` with one rule that
  lets root processes open and execute files below ``/var/lib/waagent/``, ordered after the
  ``ld_so`` pattern and bad-ELF denials and before every other deny, then ``fagenrules``.
* AppArmor: nothing unless a profile confines the agent (none ships with the agent or Debian/Ubuntu);
  if one exists and includes its ``local/`` override, a marked block in that override lets the
  handlers run unconfined.

Pieces:

* ``gather_secpolicy(root, proc)`` / ``gather_snapshot_extension(root)`` -- facts, read only.
* ``plan_secpolicy(facts, options)`` -- per mechanism: what is missing and the actions to fix it
  (``state: present``) or to remove exactly what this collection added (``state: absent``).
* ``evaluate_secpolicy(facts, options)`` -- the finding (docs/architecture.md, "Finding").
"""

from __future__ import annotations

import errno
import os
import re
from typing import Any

ERROR_CODE = "UserErrorVmNotInDesirableState"
MECHANISMS = ("selinux", "fapolicyd", "apparmor")
# Extensions hard-code this path whatever Lib.Dir says in waagent.conf (Azure/WALinuxAgent issue 2949).
AGENT_DIR = "/var/lib/waagent"
# <Publisher>.<Type>-<version> (extension handlers) and WALinuxAgent-<version> (the agent's own updates).
HANDLER_NAME_RE = re.compile(r"^[^/]+-[0-9][^/]*$")
SNAPSHOT_EXTENSION = "Microsoft.Azure.RecoveryServices.VMSnapshotLinux"
DEFAULT_SETYPE = "bin_t"
SETYPE_RE = re.compile(r"^[a-z0-9_]+_t$")
# SELinux file spec: a PCRE matched against the whole path (semanage-fcontext(8)).
SELINUX_SPEC = AGENT_DIR + "/[^/]+-[0-9][^/]*(/.*)?"
FAPOLICYD_DIR = "/etc/fapolicyd"
FAPOLICYD_RULES_D = FAPOLICYD_DIR + "/rules.d"
DEFAULT_FAPOLICYD_RULE_FILE = FAPOLICYD_RULES_D + "/40-vmbackup-waagent.rules"
FAPOLICYD_RULE = "allow perm=any uid=0 : dir=" + AGENT_DIR + "/"
APPARMOR_DIR = "/etc/apparmor.d"
AA_BEGIN = "# BEGIN vmbackup.azure waagent (UserErrorVmNotInDesirableState)"
AA_END = "# END vmbackup.azure waagent"
AA_RULES = (
    AGENT_DIR + "/ r,",
    AGENT_DIR + "/** rwlk,",
    AGENT_DIR + "/** Ux,",
)
LABEL_WALK_LIMIT = 20000
MAX_READ = 256 * 1024

DEFAULT_OPTIONS = {
    "state": "present",
    "mechanisms": ["auto"],
    "reload": False,
    "selinux_setype": DEFAULT_SETYPE,
    "fapolicyd_rule_file": DEFAULT_FAPOLICYD_RULE_FILE,
    "exclude_agent": False,
}
# The first line of every fapolicyd rules file this collection writes: only such a file is ours to
# overwrite or delete.
FAPOLICYD_MARKER = "# Managed by vmbackup.azure (UserErrorVmNotInDesirableState)"
OPT_IN = (
    "relaxing the security policy is not opted in (exclude_agent: true; role variable "
    "user_error_vm_not_in_desirable_state_exclude_agent: true)"
)


class OptionError(ValueError):
    """An option value is invalid; the message names the option."""


# ---------------------------------------------------------------------------------------------
# Texts this collection writes


def fapolicyd_rule_text() -> str:
    return (
        f"{FAPOLICYD_MARKER}: Azure VM extension handlers under\n"
        f"# {AGENT_DIR}/ are downloaded by the Azure Linux agent, not installed by the package manager,\n"
        "# so fapolicyd does not trust them. Let root processes (the agent runs as root) open and run them.\n"
        "# Ordered after the ld_so pattern and bad-ELF rules, before every other deny. Remove with\n"
        "# vmbackup.azure.waagent_security_policy state=absent.\n"
        f"{FAPOLICYD_RULE}\n"
    )


def apparmor_block() -> str:
    lines = [
        AA_BEGIN,
        f"# Azure VM extension handlers under {AGENT_DIR} run unconfined, as they do when no profile",
        "# confines the agent. Remove with vmbackup.azure.waagent_security_policy state=absent.",
        *AA_RULES,
        AA_END,
    ]
    return "\n".join(lines) + "\n"


def apparmor_block_problem(text: str | None) -> str | None:
    """Why the marked block in ``text`` cannot be edited safely (a BEGIN without its END, an END without
    a BEGIN, a second BEGIN inside the block), or None."""
    inside = False
    for number, line in enumerate((text or "").split("\n"), start=1):
        stripped = line.strip()
        if stripped == AA_BEGIN:
            if inside:
                return f"line {number}: a second '{AA_BEGIN}' before '{AA_END}'"
            inside = True
        elif stripped == AA_END:
            if not inside:
                return f"line {number}: '{AA_END}' without '{AA_BEGIN}' before it"
            inside = False
    if inside:
        return f"'{AA_BEGIN}' has no '{AA_END}' after it (the lines after it may not be ours)"
    return None


def strip_apparmor_block(text: str | None) -> tuple[str, bool]:
    """``text`` without the marked block (and the newline after it); ``(new_text, found)``.

    Callers check ``apparmor_block_problem`` first: without an END marker nothing is stripped.
    """
    if apparmor_block_problem(text):
        return text or "", False
    lines = (text or "").splitlines(keepends=True)
    out, inside, found = [], False, False
    for line in lines:
        stripped = line.strip()
        if stripped == AA_BEGIN:
            inside, found = True, True
            continue
        if inside:
            if stripped == AA_END:
                inside = False
            continue
        out.append(line)
    return "".join(out), found


def with_apparmor_block(text: str | None) -> str:
    """``text`` with exactly one up-to-date marked block at its end."""
    base, dummy = strip_apparmor_block(text)
    if base and not base.endswith("\n"):
        base += "\n"
    return base + apparmor_block()


# ---------------------------------------------------------------------------------------------
# Parsers


def parse_kv_config(text: str | None) -> dict[str, str]:
    """``KEY=value`` lines (SELinux config); comments and blank lines skipped; keys as written."""
    out = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        out[key.strip()] = value.split("#", 1)[0].strip().strip('"').strip("'")
    return out


def parse_fapolicyd_conf(text: str | None) -> dict[str, str]:
    """``key = value`` lines of fapolicyd.conf."""
    return {k.lower(): v for k, v in parse_kv_config(text).items()}


def context_type(context: str | None) -> str | None:
    """``system_u:object_r:bin_t:s0`` -> ``bin_t``; None when it is not a context."""
    if not context:
        return None
    parts = context.strip().strip("\x00").split(":")
    return parts[2] if len(parts) >= 3 else None


def parse_file_contexts_local(text: str | None) -> list[dict[str, Any]]:
    """Entries of ``file_contexts.local`` (written by semanage): ``{spec, ftype, context, type}``.

    ``ftype`` is ``''`` for "all files", else the flag as written (``--``, ``-d``, ...).
    """
    entries = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) == 2:
            spec, ftype, context = fields[0], "", fields[1]
        elif len(fields) == 3:
            spec, ftype, context = fields
        else:
            continue
        entries.append({"spec": spec, "ftype": ftype, "context": context, "type": context_type(context)})
    return entries


def natural_key(name: str) -> list[tuple[int, int, str]]:
    """Sort key close to ``ls -v`` (what fagenrules uses): digit runs compare as numbers."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name) if part]


def compile_fapolicyd_rules(rules_d: dict[str, str | None]) -> list[str]:
    """The rule lines ``fagenrules`` would write to compiled.rules (without its header comment).

    ``rules_d``: ``{file name: content}`` of ``/etc/fapolicyd/rules.d``; only ``*.rules`` count.
    """
    lines = []
    for name in sorted((n for n in rules_d if n.endswith(".rules")), key=natural_key):
        for line in (rules_d[name] or "").splitlines():
            if not line.strip() or re.match(r"^\s*#", line):
                continue
            lines.append(line)
    return lines


def rule_lines(text: str | None) -> list[str]:
    return [line for line in (text or "").splitlines() if line.strip() and not re.match(r"^\s*#", line)]


def _blocks_agent(line: str) -> bool:
    """Whether a compiled fapolicyd rule line could deny the agent's handlers.

    The ``ld_so`` pattern rule and the bad-ELF rule stay in front of ours on purpose: they block
    abuse of the dynamic loader and malformed ELF files, wherever those are.
    """
    if not line.startswith("deny"):
        return False
    return "pattern=ld_so" not in line and "application/x-bad-elf" not in line


def fapolicyd_order_problem(lines: list[str]) -> str | None:
    """None when our rule precedes every deny that could block the agent, else that deny line."""
    try:
        ours = lines.index(FAPOLICYD_RULE)
    except ValueError:
        return None
    for line in lines[:ours]:
        if _blocks_agent(line):
            return line
    return None


def profile_mentions_waagent(text: str | None) -> list[str]:
    """Names of the profiles in an AppArmor policy file that attach to the Azure agent."""
    names = []
    for line in (text or "").splitlines():
        stripped = line.split("#", 1)[0].strip()
        match = re.match(r"^(?:profile\s+(\S+)(?:\s+(\S+))?|(/\S+))\s*(?:flags=\([^)]*\)\s*)?\{", stripped)
        if not match:
            continue
        name, attach, bare = match.groups()
        target = " ".join(p for p in (name, attach, bare) if p)
        if "waagent" in target.lower() or "walinuxagent" in target.lower():
            names.append(name or bare)
    return names


def includes_local(text: str | None, file_name: str) -> bool:
    """Whether a profile file includes its ``local/<file_name>`` override."""
    pattern = re.compile(
        r"^\s*#?include(?:\s+if\s+exists)?\s+[<\"](?:/etc/apparmor\.d/)?local/" + re.escape(file_name) + r"[>\"]",
        re.M,
    )
    return bool(pattern.search(text or ""))


# ---------------------------------------------------------------------------------------------
# Gather helpers (read only)


def _p(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/")) if root not in ("", "/") else path


def _read(path: str, limit: int = MAX_READ) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(limit)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        return None


def _exists_any(root: str, paths: list[str]) -> bool:
    return any(os.path.exists(_p(root, p)) for p in paths)


def _service_enabled(root: str, unit: str) -> bool:
    """Enabled for boot: a ``*.wants/<unit>`` link under /etc/systemd/system (systemctl enable)."""
    base = _p(root, "/etc/systemd/system")
    try:
        names = os.listdir(base)
    except OSError:
        return False
    return any(name.endswith(".wants") and os.path.lexists(os.path.join(base, name, unit)) for name in names)


# What reading /proc/<pid>/comm raises for a process that exited after /proc was listed: the
# directory is gone (ENOENT) or, when it went between open() and read(), ESRCH (ProcessLookupError).
GONE = (errno.ENOENT, errno.ESRCH)


def _comm(proc: str, pid: str) -> str | None:
    """The comm of process ``pid``, or None when the process has gone in the meantime."""
    try:
        with open(os.path.join(proc, pid, "comm"), encoding="utf-8", errors="replace") as handle:
            return handle.read(64).strip()
    except OSError as exc:
        if exc.errno in GONE:
            return None
        raise


def _running(proc: str, comm: str) -> list[int]:
    """pids of processes whose comm is ``comm`` (the scan of /proc; a chroot sees the host's).

    A process that exits while /proc is scanned is skipped: it is not running any more.
    """
    pids: list[int] = []
    try:
        entries = os.listdir(proc)
    except OSError:
        return pids
    for entry in entries:
        if entry.isdigit() and _comm(proc, entry) == comm:
            pids.append(int(entry))
    return sorted(pids)


def _label(path: str) -> str | None:
    try:
        return os.getxattr(path, "security.selinux", follow_symlinks=False).decode("utf-8", "replace").strip("\x00")
    except OSError as exc:
        if exc.errno in (errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP):
            return None
        raise


def handler_dirs(root: str = "/") -> list[str]:
    """Names of the entries of /var/lib/waagent that are handler (or agent update) directories."""
    base = _p(root, AGENT_DIR)
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return []
    return [n for n in names if HANDLER_NAME_RE.match(n) and os.path.isdir(os.path.join(base, n))]


def gather_labels(root: str = "/", limit: int = LABEL_WALK_LIMIT) -> dict[str, Any]:
    """SELinux types of the files the rule covers.

    Returns ``{types: {type: count}, samples: {type: [path]}, files, truncated, handler_dirs}``.
    Unlabelled files count under the type ``<none>``. Walks at most ``limit`` entries.
    """
    base = _p(root, AGENT_DIR)
    types, samples, count, truncated = {}, {}, 0, False
    dirs = handler_dirs(root)

    def note(path: str) -> None:
        nonlocal count
        count += 1
        label = context_type(_label(path)) or "<none>"
        types[label] = types.get(label, 0) + 1
        shown = samples.setdefault(label, [])
        if len(shown) < 3:
            shown.append(AGENT_DIR + path[len(base) :])

    for name in dirs:
        top = os.path.join(base, name)
        if count >= limit:
            truncated = True
            break
        note(top)
        for dirpath, dirnames, filenames in os.walk(top):
            for entry in sorted(dirnames) + sorted(filenames):
                if count >= limit:
                    truncated = True
                    break
                note(os.path.join(dirpath, entry))
            if truncated:
                break
    return {"types": types, "samples": samples, "files": count, "truncated": truncated, "handler_dirs": dirs}


def gather_selinux(root: str = "/", labels: bool = True) -> dict[str, Any]:
    config_text = _read(_p(root, "/etc/selinux/config"))
    config = parse_kv_config(config_text) if config_text is not None else {}
    mode = (config.get("SELINUX") or "").lower() or None
    policy = config.get("SELINUXTYPE") or None
    enforce = _read(_p(root, "/sys/fs/selinux/enforce"), 16)
    runtime = "disabled" if enforce is None else ("enforcing" if enforce.strip() == "1" else "permissive")
    local_path = f"/etc/selinux/{policy}/contexts/files/file_contexts.local" if policy else None
    local_text = _read(_p(root, local_path)) if local_path else None
    facts = {
        "config_present": config_text is not None,
        "config_mode": mode,
        "policy_type": policy,
        "runtime_mode": runtime,
        "active": runtime in ("enforcing", "permissive") or mode in ("enforcing", "permissive"),
        "policy_installed": bool(policy) and os.path.isdir(_p(root, f"/etc/selinux/{policy}/contexts/files")),
        "semanage": _exists_any(root, ["/usr/sbin/semanage", "/sbin/semanage"]),
        "restorecon": _exists_any(root, ["/usr/sbin/restorecon", "/sbin/restorecon"]),
        "setfiles": _exists_any(root, ["/usr/sbin/setfiles", "/sbin/setfiles"]),
        "file_contexts": f"/etc/selinux/{policy}/contexts/files/file_contexts" if policy else None,
        "local_file": local_path,
        "local_entries": parse_file_contexts_local(local_text),
        "labels": None,
    }
    if labels and (facts["active"] or facts["config_present"]):
        facts["labels"] = gather_labels(root)
    return facts


def gather_fapolicyd(root: str = "/", proc: str = "/proc") -> dict[str, Any]:
    rules_dir = _p(root, FAPOLICYD_RULES_D)
    rules_d = None
    if os.path.isdir(rules_dir):
        rules_d = {}
        for name in sorted(os.listdir(rules_dir)):
            path = os.path.join(rules_dir, name)
            if name.endswith(".rules") and os.path.isfile(path):
                rules_d[name] = _read(path) or ""
    compiled = _read(_p(root, FAPOLICYD_DIR + "/compiled.rules"))
    conf = parse_fapolicyd_conf(_read(_p(root, FAPOLICYD_DIR + "/fapolicyd.conf")))
    installed = _exists_any(root, ["/usr/sbin/fapolicyd", "/sbin/fapolicyd"])
    running = _running(proc, "fapolicyd")
    enabled = _service_enabled(root, "fapolicyd.service")
    return {
        "installed": installed,
        "enabled": enabled,
        "running": bool(running),
        "pids": running,
        "active": bool(running) or (installed and enabled),
        "permissive": conf.get("permissive") == "1",
        "fagenrules": _exists_any(root, ["/usr/sbin/fagenrules", "/sbin/fagenrules"]),
        "rules_d": rules_d,
        "legacy_rules_file": os.path.exists(_p(root, FAPOLICYD_DIR + "/fapolicyd.rules")),
        "compiled": rule_lines(compiled) if compiled is not None else None,
    }


def gather_apparmor(root: str = "/") -> dict[str, Any]:
    enabled = (_read(_p(root, "/sys/module/apparmor/parameters/enabled"), 8) or "").strip() == "Y"
    installed = _exists_any(root, ["/usr/sbin/apparmor_parser", "/sbin/apparmor_parser"])
    service = _service_enabled(root, "apparmor.service")
    profiles = []
    base = _p(root, APPARMOR_DIR)
    try:
        names = sorted(os.listdir(base))
    except OSError:
        names = []
    for name in names:
        path = os.path.join(base, name)
        if name.startswith(".") or name.endswith((".dpkg-dist", ".dpkg-old", "~")) or not os.path.isfile(path):
            continue
        text = _read(path)
        found = profile_mentions_waagent(text)
        if not found:
            continue
        local = f"{APPARMOR_DIR}/local/{name}"
        profiles.append(
            {
                "file": f"{APPARMOR_DIR}/{name}",
                "profiles": found,
                "includes_local": includes_local(text, name),
                "local_file": local,
                "local_content": _read(_p(root, local)),
            }
        )
    loaded = _read(_p(root, "/sys/kernel/security/apparmor/profiles"))
    return {
        "kernel_enabled": enabled,
        "installed": installed,
        "service_enabled": service,
        "active": enabled or (installed and service),
        "waagent_profiles": profiles,
        "loaded_waagent": [line.strip() for line in (loaded or "").splitlines() if "waagent" in line.lower()],
    }


def gather_agent(root: str = "/", mountinfo: str = "/proc/self/mountinfo") -> dict[str, Any]:
    from ansible_collections.vmbackup.azure.plugins.module_utils._linux_agent import (
        parse_waagent_conf,
        read_waagent_conf,
    )

    base = _p(root, AGENT_DIR)
    # read as the agent reads it (bytes, lines end at \n only, its comment and quote rules)
    conf = parse_waagent_conf(read_waagent_conf(_p(root, "/etc/waagent.conf"))[0] or "")
    noexec = None
    text = _read(mountinfo, 4 * MAX_READ)
    if text is not None:
        best = None
        for line in text.splitlines():
            fields = line.split()
            if len(fields) < 6:
                continue
            mp = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            covers = mp == AGENT_DIR or AGENT_DIR.startswith(mp.rstrip("/") + "/")
            if covers and (best is None or len(mp) >= len(best[0])):
                best = (mp, fields[5].split(","))
        if best is not None and root in ("", "/"):
            noexec = best[0] if "noexec" in best[1] else None
    return {
        "dir": AGENT_DIR,
        "present": os.path.isdir(base),
        "handlers": handler_dirs(root),
        "lib_dir": conf.get("Lib.Dir"),
        "noexec_mount": noexec,
    }


def gather_snapshot_extension(root: str = "/") -> dict[str, Any]:
    """The backup extension's handler directories: ``{present, versions, dirs}``."""
    prefix = SNAPSHOT_EXTENSION + "-"
    dirs = [n for n in handler_dirs(root) if n.startswith(prefix)]
    return {
        "present": bool(dirs),
        "versions": [n[len(prefix) :] for n in dirs],
        "dirs": [f"{AGENT_DIR}/{n}" for n in dirs],
    }


def gather_secpolicy(root: str = "/", proc: str = "/proc") -> dict[str, Any]:
    """Everything ``plan_secpolicy`` needs. A section that fails carries ``{"error": msg}``."""
    out = {}
    sections = (
        ("agent", lambda: gather_agent(root, mountinfo=os.path.join(proc, "self", "mountinfo"))),
        ("selinux", lambda: gather_selinux(root)),
        ("fapolicyd", lambda: gather_fapolicyd(root, proc)),
        ("apparmor", lambda: gather_apparmor(root)),
    )
    for name, func in sections:
        try:
            out[name] = func()
        except Exception as exc:  # a broken section must not hide the others
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
    return out


# ---------------------------------------------------------------------------------------------
# Options


def check_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """Defaults filled in and validated; raises OptionError naming the option."""
    opts = dict(DEFAULT_OPTIONS)
    opts.update({k: v for k, v in (options or {}).items() if v is not None})
    if opts["state"] not in ("present", "absent"):
        raise OptionError(f"state: {opts['state']!r} is not one of present, absent")
    mechanisms = opts["mechanisms"]
    if isinstance(mechanisms, str):
        mechanisms = [m.strip() for m in mechanisms.split(",") if m.strip()]
    mechanisms = list(mechanisms or ["auto"])
    for mech in mechanisms:
        if mech != "auto" and mech not in MECHANISMS:
            raise OptionError(f"mechanisms: {mech!r} is not one of auto, {', '.join(MECHANISMS)}")
    if "auto" in mechanisms and len(mechanisms) > 1:
        raise OptionError(f"mechanisms: 'auto' cannot be combined with others: {mechanisms}")
    opts["mechanisms"] = mechanisms
    if not isinstance(opts["selinux_setype"], str) or not SETYPE_RE.match(opts["selinux_setype"]):
        raise OptionError(f"selinux_setype: {opts['selinux_setype']!r} is not an SELinux type (like bin_t)")
    rule_file = opts["fapolicyd_rule_file"]
    if (
        not isinstance(rule_file, str)
        or os.path.dirname(rule_file) != FAPOLICYD_RULES_D
        or not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.rules$", os.path.basename(rule_file))
    ):
        raise OptionError(
            f"fapolicyd_rule_file: {rule_file!r} must be a file name ending in .rules directly under "
            f"{FAPOLICYD_RULES_D}/ (fagenrules reads only those)"
        )
    opts["reload"] = bool(opts["reload"])
    if not isinstance(opts["exclude_agent"], bool):
        raise OptionError(f"exclude_agent: {opts['exclude_agent']!r} is not a boolean")
    return opts


def selected_mechanisms(facts: dict[str, Any], opts: dict[str, Any]) -> list[str]:
    """The mechanisms to manage: the active ones (auto) or the ones named."""
    if opts["mechanisms"] == ["auto"]:
        return [m for m in MECHANISMS if (facts.get(m) or {}).get("active")]
    return list(opts["mechanisms"])


# ---------------------------------------------------------------------------------------------
# Plans


def _action(
    action: str, mechanism: str, allowed: bool = True, disruptive: bool = False, reason: str = "", **kw: Any
) -> dict[str, Any]:
    return {
        "action": action,
        "mechanism": mechanism,
        "allowed": bool(allowed),
        "disruptive": disruptive,
        "reason": reason,
        **kw,
    }


def _ours(entry: dict[str, Any], setype: str) -> bool:
    return entry["spec"] == SELINUX_SPEC and entry["ftype"] in ("", "-a") and entry["type"] == setype


def plan_selinux(facts: dict[str, Any], opts: dict[str, Any]) -> dict[str, Any]:
    setype = opts["selinux_setype"]
    present = opts["state"] == "present"
    out = {"mechanism": "selinux", "ok": True, "refused": [], "actions": [], "detail": ""}
    if facts.get("runtime_mode") != "disabled":
        where = f"SELinux {facts.get('runtime_mode')}"
        if facts.get("runtime_mode") == "permissive":
            where += " (denials are logged, not enforced)"
    else:
        where = f"SELinux not running now, configured {facts.get('config_mode') or 'unknown'} for the next boot"
    if not facts.get("policy_type") or not facts.get("policy_installed"):
        out["refused"].append("no installed policy found (SELINUXTYPE in /etc/selinux/config)")
    if not facts.get("semanage"):
        out["refused"].append("semanage is not installed (package policycoreutils-python-utils)")
    tool = "restorecon" if facts.get("runtime_mode") != "disabled" else "setfiles"
    if not facts.get(tool):
        out["refused"].append(f"{tool} is not installed (package policycoreutils)")

    same_spec = [e for e in facts.get("local_entries") or [] if e["spec"] == SELINUX_SPEC and e["ftype"] in ("", "-a")]
    rule_ok = any(_ours(e, setype) for e in same_spec)
    labels = facts.get("labels") or {"types": {}, "files": 0, "samples": {}, "truncated": False, "handler_dirs": []}
    types = labels.get("types") or {}
    wrong = sum(n for t, n in types.items() if t != setype)
    ours_labelled = types.get(setype, 0)
    dirs = [f"{AGENT_DIR}/{n}" for n in labels.get("handler_dirs") or []]

    if present:
        out["ok"] = rule_ok and wrong == 0 and not out["refused"]
        parts = [where]
        if rule_ok:
            parts.append(f"file-context rule '{SELINUX_SPEC}' -> {setype} present")
        elif same_spec:
            parts.append(f"file-context rule '{SELINUX_SPEC}' labels {same_spec[0]['type']}, not {setype}")
        else:
            parts.append(f"no file-context rule for the extension handlers under {AGENT_DIR} (default var_lib_t)")
        if wrong:
            shown = ", ".join(f"{n} {t}" for t, n in sorted(types.items()) if t != setype)
            parts.append(f"{wrong} of {labels.get('files')} handler files not labelled {setype} ({shown})")
        elif labels.get("files"):
            parts.append(f"{labels.get('files')} handler files labelled {setype}")
        out["detail"] = "; ".join(parts + out["refused"])
        allowed = not out["refused"]
        if not rule_ok:
            verb = "modify" if same_spec else "add"
            out["actions"].append(
                _action(
                    "selinux_fcontext",
                    "selinux",
                    allowed,
                    reason="; ".join(out["refused"]) or f"semanage fcontext --{verb} -t {setype} '{SELINUX_SPEC}'",
                    operation=verb,
                    spec=SELINUX_SPEC,
                    setype=setype,
                    before=same_spec[0]["type"] if same_spec else None,
                )
            )
        if wrong and dirs:
            out["actions"].append(
                _action(
                    "selinux_relabel",
                    "selinux",
                    allowed,
                    reason="; ".join(out["refused"]) or f"{tool} -R {' '.join(dirs)} ({wrong} files)",
                    tool=tool,
                    paths=dirs,
                    files=wrong,
                )
            )
    else:
        ours = [e for e in same_spec if e["type"] == setype]
        if ours:
            out["actions"].append(
                _action(
                    "selinux_fcontext",
                    "selinux",
                    not out["refused"],
                    reason="; ".join(out["refused"]) or f"semanage fcontext --delete '{SELINUX_SPEC}'",
                    operation="delete",
                    spec=SELINUX_SPEC,
                    setype=setype,
                    before=setype,
                )
            )
        if ours_labelled and dirs:
            out["actions"].append(
                _action(
                    "selinux_relabel",
                    "selinux",
                    not out["refused"],
                    reason="; ".join(out["refused"])
                    or f"{tool} -R {' '.join(dirs)} back to the policy's labels ({ours_labelled} files)",
                    tool=tool,
                    paths=dirs,
                    files=ours_labelled,
                )
            )
        out["ok"] = not out["actions"]
        out["detail"] = f"{where}: " + ("nothing of ours left" if out["ok"] else "our file-context rule/labels present")
    return out


def plan_fapolicyd(facts: dict[str, Any], opts: dict[str, Any]) -> dict[str, Any]:
    path = opts["fapolicyd_rule_file"]
    name = os.path.basename(path)
    present = opts["state"] == "present"
    out = {"mechanism": "fapolicyd", "ok": True, "refused": [], "actions": [], "detail": ""}
    state = "running" if facts.get("running") else ("enabled at boot" if facts.get("enabled") else "not running")
    where = f"fapolicyd {state}" + (" (permissive = 1: denials not enforced)" if facts.get("permissive") else "")
    rules_d = facts.get("rules_d")
    if rules_d is None:
        if facts.get("legacy_rules_file"):
            out["refused"].append(
                f"it uses the deprecated single file {FAPOLICYD_DIR}/fapolicyd.rules (no rules.d); "
                f"not changed: add '{FAPOLICYD_RULE}' before its first deny rule by hand"
            )
        else:
            out["refused"].append(f"{FAPOLICYD_RULES_D} does not exist (is fapolicyd installed?)")
    elif facts.get("legacy_rules_file"):
        out["refused"].append(
            f"both {FAPOLICYD_DIR}/fapolicyd.rules and {FAPOLICYD_RULES_D} exist; fagenrules refuses "
            "to run until one is removed"
        )
    if not facts.get("fagenrules"):
        out["refused"].append("fagenrules is not installed")
    rules_d = dict(rules_d or {})
    current = rules_d.get(name)
    wanted = fapolicyd_rule_text()
    if current is not None and current != wanted and not current.startswith(FAPOLICYD_MARKER):
        out["refused"].append(
            f"{path} exists and was not written by this collection (its first line is not '{FAPOLICYD_MARKER}'): "
            "it is neither overwritten nor deleted; name a free file in fapolicyd_rule_file"
        )
    after = dict(rules_d)
    if present:
        after[name] = wanted
    else:
        after.pop(name, None)
    compiled_after = compile_fapolicyd_rules(after)
    compiled_now = facts.get("compiled")
    reload_needed = facts.get("running")
    reload_reason = (
        "fagenrules --load: the running fapolicyd reloads its rules"
        if opts["reload"]
        else "reload not opted in: the running fapolicyd keeps its old rules until `fagenrules --load` or a restart"
    )
    if present:
        problem = fapolicyd_order_problem(compiled_after)
        if problem:
            out["refused"].append(
                f"{path} would come after '{problem}', which denies the agent first; "
                "choose a lower number in fapolicyd_rule_file"
            )
        file_ok = current == wanted
        compiled_ok = compiled_now == compiled_after
        out["ok"] = file_ok and compiled_ok and not out["refused"]
        parts = [where]
        if file_ok:
            parts.append(f"{path} allows {AGENT_DIR}/")
        elif current is not None:
            parts.append(f"{path} differs from the rule this fix writes")
        else:
            parts.append(f"no rule allows {AGENT_DIR}/ (untrusted files there are denied)")
        if file_ok and not compiled_ok:
            parts.append("compiled.rules is not up to date (fagenrules not run)")
        out["detail"] = "; ".join(parts + out["refused"])
        allowed = not out["refused"]
        reason = "; ".join(out["refused"])
        if not file_ok:
            out["actions"].append(
                _action(
                    "fapolicyd_rule",
                    "fapolicyd",
                    allowed,
                    reason=reason or f"write {path}",
                    path=path,
                    operation="write",
                    backup=current is not None,
                )
            )
        if not compiled_ok:
            out["actions"].append(
                _action("fapolicyd_compile", "fapolicyd", allowed, reason=reason or "fagenrules (compiled.rules)")
            )
            if reload_needed:
                out["actions"].append(
                    _action(
                        "fapolicyd_reload",
                        "fapolicyd",
                        allowed and opts["reload"],
                        disruptive=True,
                        reason=reason or reload_reason,
                    )
                )
    else:
        if current is not None:
            out["actions"].append(
                _action(
                    "fapolicyd_rule",
                    "fapolicyd",
                    not out["refused"],
                    reason="; ".join(out["refused"]) or f"remove {path}",
                    path=path,
                    operation="remove",
                    backup=current != wanted,
                )
            )
        if compiled_now is not None and compiled_now != compiled_after and FAPOLICYD_RULE in compiled_now:
            out["actions"].append(
                _action(
                    "fapolicyd_compile",
                    "fapolicyd",
                    not out["refused"],
                    reason="; ".join(out["refused"]) or "fagenrules (compiled.rules)",
                )
            )
            if reload_needed:
                out["actions"].append(
                    _action(
                        "fapolicyd_reload",
                        "fapolicyd",
                        not out["refused"] and opts["reload"],
                        disruptive=True,
                        reason="; ".join(out["refused"]) or reload_reason,
                    )
                )
        out["ok"] = not out["actions"]
        out["detail"] = f"{where}: " + ("nothing of ours left" if out["ok"] else f"{path} present")
    return out


def plan_apparmor(facts: dict[str, Any], opts: dict[str, Any]) -> dict[str, Any]:
    present = opts["state"] == "present"
    out = {"mechanism": "apparmor", "ok": True, "refused": [], "actions": [], "detail": ""}
    where = "AppArmor " + ("enabled in the kernel" if facts.get("kernel_enabled") else "enabled at boot")
    profiles = facts.get("waagent_profiles") or []
    if not profiles:
        out["detail"] = f"{where}; no profile confines the Azure agent (waagent): nothing to exclude"
        return out
    if not facts.get("installed"):
        out["refused"].append("apparmor_parser is not installed (package apparmor)")
    parts = list(out["refused"])

    def refuse(prof: dict[str, Any], reason: str, operation: str) -> None:
        out["refused"].append(reason)
        parts.append(reason)
        out["actions"].append(
            _action(
                "apparmor_local",
                "apparmor",
                False,
                reason=reason,
                path=prof["local_file"],
                profile=prof["file"],
                operation=operation,
            )
        )

    for prof in profiles:
        label = f"{prof['file']} ({', '.join(prof['profiles'])})"
        text = prof.get("local_content")
        problem = apparmor_block_problem(text)
        if problem:
            reason = f"{prof['local_file']}: {problem}; not edited: repair the markers by hand"
            refuse(prof, reason, "write" if present else "remove")
            continue
        stripped, found = strip_apparmor_block(text)
        if present:
            wanted = with_apparmor_block(text)
            if not prof.get("includes_local"):
                reason = f"{label} does not include local/{os.path.basename(prof['file'])}; the profile is not edited"
                refuse(prof, reason, "write")
                continue
            if text == wanted:
                parts.append(f"{prof['local_file']} lets the handlers under {AGENT_DIR} run unconfined")
                continue
            parts.append(f"{label} confines the agent; {prof['local_file']} has no exclusion for {AGENT_DIR}")
            out["actions"].append(
                _action(
                    "apparmor_local",
                    "apparmor",
                    not out["refused"],
                    reason=f"write the marked block in {prof['local_file']}",
                    path=prof["local_file"],
                    profile=prof["file"],
                    operation="write",
                    backup=text is not None,
                )
            )
        else:
            if not found:
                continue
            out["actions"].append(
                _action(
                    "apparmor_local",
                    "apparmor",
                    True,
                    reason=f"remove the marked block from {prof['local_file']}",
                    path=prof["local_file"],
                    profile=prof["file"],
                    operation="remove",
                    delete_file=not stripped.strip(),
                    backup=True,
                )
            )
        if facts.get("kernel_enabled"):
            out["actions"].append(
                _action(
                    "apparmor_reload",
                    "apparmor",
                    opts["reload"],
                    disruptive=True,
                    reason=f"apparmor_parser -r {prof['file']}"
                    if opts["reload"]
                    else "reload not opted in: the loaded profile changes at the next apparmor reload or boot",
                    profile=prof["file"],
                )
            )
    changes = [a for a in out["actions"] if a["action"] == "apparmor_local"]
    out["ok"] = not changes if not present else not changes and not out["refused"]
    out["detail"] = f"{where}; " + "; ".join(parts) if parts else where
    return out


PLANNERS = {"selinux": plan_selinux, "fapolicyd": plan_fapolicyd, "apparmor": plan_apparmor}


def plan_secpolicy(facts: dict[str, Any], options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Per selected mechanism ``{mechanism, ok, refused, actions, detail}`` plus ``errors`` and ``agent``.

    ``facts``: ``gather_secpolicy()`` output. Raises OptionError on bad options.
    """
    opts = check_options(options)
    errors = {name: (facts.get(name) or {}).get("error") for name in ("agent", *MECHANISMS)}
    errors = {k: v for k, v in errors.items() if v or k not in facts}
    for name in list(errors):
        if errors[name] is None:
            errors[name] = "not gathered"
    wanted = selected_mechanisms({k: v for k, v in facts.items() if k not in errors}, opts)
    if opts["mechanisms"] == ["auto"]:
        # auto cannot tell whether a mechanism whose facts errored is active: report that section.
        wanted = [m for m in MECHANISMS if m in wanted or m in errors]
    plans = []
    for mech in wanted:
        if mech in errors:
            plans.append(
                {
                    "mechanism": mech,
                    "ok": False,
                    "refused": [],
                    "actions": [],
                    "detail": f"{mech}: facts not available: {errors[mech]}",
                    "error": errors[mech],
                }
            )
            continue
        plans.append(PLANNERS[mech](facts[mech], opts))
    if opts["state"] == "present" and not opts["exclude_agent"]:
        for plan in plans:
            for act in plan["actions"]:
                if act["allowed"]:
                    act["allowed"] = False
                    act["reason"] = f"{OPT_IN}; it would {act['reason']}{_adds(act)}"
    return {"options": opts, "mechanisms": plans, "errors": errors, "agent": facts.get("agent") or {}}


def _adds(act: dict[str, Any]) -> str:
    """What a writing action adds, spelled out (the scan says exactly what it would add)."""
    if act["action"] == "fapolicyd_rule" and act.get("operation") == "write":
        return f" (the rule '{FAPOLICYD_RULE}')"
    if act["action"] == "apparmor_local" and act.get("operation") == "write":
        return " (the rules " + " ".join(AA_RULES) + ")"
    return ""


# ---------------------------------------------------------------------------------------------
# The evaluator


CONTROL_PLANE_NOTE = (
    "the VM power state (running, stopped or deallocated; wait while transitional) is control-plane "
    "and not checked in the guest"
)


def _extension_note(snapshot: dict[str, Any] | None) -> str:
    if not snapshot or snapshot.get("error"):
        return "VMSnapshotLinux extension: unknown"
    if snapshot.get("present"):
        return f"VMSnapshotLinux extension installed ({', '.join(snapshot.get('versions') or [])})"
    return (
        f"VMSnapshotLinux extension not installed under {AGENT_DIR} (the next backup installs it once the "
        "agent can run extensions)"
    )


def evaluate_secpolicy(facts: dict[str, Any], options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The UserErrorVmNotInDesirableState finding for one Linux host (the in-guest part).

    ``facts``: ``ansible_facts.vmbackup_linux`` (with ``security_policy`` and ``vmsnapshot_extension``)
    or the ``security_policy`` dict itself. ``options``: the role's options (``state``, ``mechanisms``,
    ``reload``, ``selinux_setype``, ``fapolicyd_rule_file``).
    Status: ``error`` when facts are missing, ``fail`` when an active mechanism lacks the exclusion or
    the agent directory is on a ``noexec`` mount, ``not_applicable`` when no mechanism is active, else ``pass``.
    Actions: what ``state: present`` changes (or, with ``state: absent``, what it removes).
    """
    facts = facts or {}
    if "security_policy" in facts or "ext_filesystems" in facts or "vmsnapshot_extension" in facts:
        snapshot = facts.get("vmsnapshot_extension")
        sp = facts.get("security_policy")
    else:
        snapshot, sp = None, facts
    if not isinstance(sp, dict) or not sp:
        return {
            "error_code": ERROR_CODE,
            "status": "error",
            "detail": "security_policy facts missing (linux_backup_facts too old?)",
            "fix": "",
            "actions": [],
        }
    opts = check_options(options)
    present_opts = dict(opts, state="present")
    check = plan_secpolicy(sp, present_opts)
    plan = check if opts["state"] == "present" else plan_secpolicy(sp, opts)
    agent = check["agent"]

    detail_parts, fix_parts, actions = [], [], []
    for mech in check["mechanisms"]:
        detail_parts.append(mech["detail"])
    noexec = agent.get("noexec_mount")
    if noexec:
        detail_parts.append(
            f"{AGENT_DIR} is on a noexec mount ({noexec}): extensions cannot run (Azure/WALinuxAgent PR 2859)"
        )
        actions.append(
            _action(
                "remount_exec",
                "mount",
                False,
                reason=f"report only: remove noexec from the mount {noexec} (or move "
                f"{AGENT_DIR} to a filesystem that allows execution)",
                mountpoint=noexec,
            )
        )
    if agent.get("lib_dir") and agent["lib_dir"].rstrip("/") != AGENT_DIR:
        detail_parts.append(
            f"waagent.conf Lib.Dir is {agent['lib_dir']}; extensions still use {AGENT_DIR}"
            " (Azure/WALinuxAgent issue 2949)"
        )
    for mech in plan["mechanisms"]:
        for act in mech["actions"]:
            actions.append(act)
            if act["allowed"]:
                fix_parts.append(f"{mech['mechanism']}: {act['reason']}")
            else:
                fix_parts.append(f"{mech['mechanism']}: would not {act['action']}: {act['reason']}")

    if "agent" in check["errors"] or any(m.get("error") for m in check["mechanisms"]):
        status = "error"
        detail_parts.insert(0, "facts not available: " + ", ".join(f"{k} ({v})" for k, v in check["errors"].items()))
    elif any(not m["ok"] for m in check["mechanisms"]) or noexec:
        status = "fail"
    elif not check["mechanisms"]:
        status = "not_applicable"
        detail_parts.insert(0, "no SELinux, fapolicyd or AppArmor active: nothing to exclude")
    else:
        status = "pass"
    detail_parts.append(_extension_note(snapshot))
    detail_parts.append(CONTROL_PLANE_NOTE)
    if opts["state"] == "absent" and actions:
        fix_parts.insert(0, "state absent: remove the exclusion this collection added")
    return {
        "error_code": ERROR_CODE,
        "status": status,
        "detail": "; ".join(p for p in detail_parts if p),
        "fix": "; ".join(fix_parts),
        "actions": actions,
        "mechanisms": [m["mechanism"] for m in check["mechanisms"]],
        "vmsnapshot_extension": snapshot,
    }
