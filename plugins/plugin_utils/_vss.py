# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""VSS writers: parse ``vssadmin list writers``, map writers to services, plan the fix.

Internal to vmbackup.azure (pure Python, no Ansible imports): used by the
``vss_writers`` action plugin, the ``parse_vss_writers`` filter and the scan, so a scan
and ``remediate.yml --check`` compute the same plan (docs/architecture.md, Finding).

Parsing is structure-based (field notes section 3): labels such as ``Writer name`` are
localized on non-English Windows, writer names and GUIDs are not. A writer block is a line
whose value is a quoted name, then a line whose value is the writer id ``{GUID}``, then
the instance id ``{GUID}``, then ``[n] <localized state>``, then ``<label>: <last error>``.
"""

from __future__ import annotations

import re

from ansible_collections.vmbackup.azure.plugins.module_utils._findings import make_finding
from ansible_collections.vmbackup.azure.plugins.plugin_utils._backup_activity import (
    extension_transitioning,
    waiting_writers,
)
from ansible_collections.vmbackup.azure.plugins.plugin_utils._probe_sections import require, service_errors

ERROR_CODE = "ExtensionFailedVssWriterInBadState"

# VSS_WRITER_STATE (MicrosoftDocs/sdk-api ne-vss-vss_writer_state.md), for messages only:
# decisions use the number (1 = stable), never a label.
STATE_NAMES = {
    0: "unknown",
    1: "stable",
    2: "waiting for freeze",
    3: "waiting for thaw",
    4: "waiting for post snapshot",
    5: "waiting for backup complete",
    6: "failed at identify",
    7: "failed at prepare backup",
    8: "failed at prepare snapshot",
    9: "failed at freeze",
    10: "failed at thaw",
    11: "failed at post snapshot",
    12: "failed at backup complete",
    13: "failed at pre restore",
    14: "failed at post restore",
    15: "failed at backup shutdown",
}
STABLE = 1


class VssParseError(ValueError):
    """``vssadmin list writers`` output that does not have the expected structure."""


# --------------------------------------------------------------------------- parsing

# Label separators seen in localized output: ``Label: value``, ``Label : value`` (French),
# ``Label：value`` (full-width colon, CJK). The first one on the line ends the label.
_SEPARATOR = re.compile("[:\uff1a]")
_GUID = re.compile(r"\{([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}")
_STATE = re.compile(r"\[\s*([0-9]{1,6})\s*\]")
# Quote characters around the writer name: ASCII ' and ", typographic ' ' " ", guillemets,
# low-9 quotes and CJK corner brackets (console code pages and translations vary).
_OPEN_QUOTES = "'\"\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u00ab\u00bb\u2039\u203a\u300c\u300e`\u00b4"
_CLOSE_QUOTES = "'\"\u2018\u2019\u201b\u201c\u201d\u00ab\u00bb\u2039\u203a\u300d\u300f`\u00b4"


def _value(line: str) -> str | None:
    """The text after the label separator, stripped; None when the line has no separator."""
    match = _SEPARATOR.search(line)
    if match is None:
        return None
    return line[match.end() :].strip()


# Lines are classified by their content, never by labels or separators: inside
# Ansible's exec wrapper PowerShell decodes native output as UTF-8, so vssadmin output in the OEM code
# page (cp950, cp932, cp850...) arrives with every non-ASCII byte turned into U+FFFD: the localized
# labels and even the full-width colon are lost, while the writer names, the {GUID}s and the [n]
# states are ASCII and survive.
_NAME_RE = re.compile(
    "["
    + re.escape(_OPEN_QUOTES)
    + "]([^"
    + re.escape(_OPEN_QUOTES + _CLOSE_QUOTES)
    + "]+)["
    + re.escape(_CLOSE_QUOTES)
    + "]\\s*$"
)
_MAX_ECHO = 120


def _clip(line: str) -> str:
    """A line for an error message: never a whole (possibly huge) line."""
    return repr(line if len(line) <= _MAX_ECHO else line[:_MAX_ECHO] + f"... ({len(line)} characters)")


def _quoted(value: str | None) -> str | None:
    """The writer name: the value after the separator when it is one quoted string (a name may hold an
    apostrophe or a colon), else the last quoted string at the end of the line (labels lost), else None."""
    if value is None:
        return None
    after = _value(value)
    if after and len(after) >= 2 and after[0] in _OPEN_QUOTES and after[-1] in _CLOSE_QUOTES:
        return after[1:-1].strip() or None
    match = _NAME_RE.search(value)
    if not match:
        return None
    return match.group(1).strip() or None


def _guid(value: str | None) -> str | None:
    if value is None:
        return None
    found = _GUID.findall(value)
    return found[0].lower() if len(found) == 1 else None


def _state(value: str | None) -> int | None:
    if value is None:
        return None
    match = _STATE.search(value)
    return int(match.group(1)) if match else None


def _kind(line: str) -> str:
    """Classify one line by its content: name, guid, state or other."""
    if _guid(line) is not None:
        return "guid"
    if _quoted(line) is not None:
        return "name"
    if _state(line) is not None:
        return "state"
    return "other"


def _last_error(line: str) -> str:
    """The last error as printed (after the separator when it survived decoding, else the whole line)."""
    value = _value(line)
    return value if value else line.strip()


def parse_vss_writers(text: str) -> list[dict]:
    """Parse ``vssadmin list writers`` output in any display language.

    Returns one dict per writer block: ``name``, ``writer_id``, ``instance_id`` (lowercase,
    no braces), ``state`` (int) and ``last_error`` (as printed). Banner-only or empty output
    gives ``[]``. A block that is truncated or out of order, or a writer id / state line
    outside a block, raises :class:`VssParseError`: a writer is never guessed.
    """
    if text is None:
        return []
    if isinstance(text, bytes):
        raise VssParseError("vssadmin output must be text, not bytes (decode it first)")
    if not isinstance(text, str):
        raise VssParseError(f"vssadmin output must be text, got {type(text).__name__}")
    text = text.lstrip("\ufeff")
    # Only CR/LF end a line: str.splitlines would also split on form feeds and U+2028.
    lines = [line.strip().lstrip("\ufeff") for line in re.split(r"\r\n|\r|\n", text)]
    numbered = [(number, line) for number, line in enumerate(lines, start=1) if line]

    writers = []
    index = 0
    while index < len(numbered):
        number, line = numbered[index]
        kind = _kind(line)
        if kind == "other":  # banner, "waiting for responses" and the like, any language
            index += 1
            continue
        if kind != "name":
            raise VssParseError(
                f"line {number}: {'writer id' if kind == 'guid' else 'writer state'} outside a writer block "
                f"(no quoted writer name before it): {_clip(line)}"
            )
        name = _quoted(line)
        block = numbered[index + 1 : index + 5]
        expected = (
            ("guid", "the writer id {GUID}"),
            ("guid", "the writer instance id {GUID}"),
            ("state", "the writer state [n]"),
            ("other", "the last error"),
        )
        for position, (want, what) in enumerate(expected):
            if position >= len(block):
                raise VssParseError(f"writer {name!r} (line {number}): block truncated, {what} is missing")
            got_number, got_line = block[position]
            got = _kind(got_line)
            if got != want:
                raise VssParseError(
                    f"writer {name!r} (line {number}): expected {what} on line {got_number}, got {_clip(got_line)}"
                )
        writers.append(
            {
                "name": name,
                "writer_id": _guid(block[0][1]),
                "instance_id": _guid(block[1][1]),
                "state": _state(block[2][1]),
                "last_error": _last_error(block[3][1]),
            }
        )
        index += 5
    return writers


def state_text(writer: dict) -> str:
    """``[8] failed at prepare snapshot, last error: Timed out`` for messages and diffs."""
    state = writer.get("state")
    text = f"[{state}] {STATE_NAMES.get(state, 'unknown state')}"
    if writer.get("last_error"):
        text += f", last error: {writer['last_error']}"
    return text


# --------------------------------------------------------------------------- writer -> service


# Field notes section 4: no official Microsoft table exists (MicrosoftDocs/azure-docs
# issue 5225). These rows are the ones several community scripts agree on
# (sysadmin256/VSSAdmin VSSWriterServices.xml, rayjette/IT-Scripts Invoke-VssRepair.ps1,
# thekamilpro/tools KPVSSWriter.ps1). Deliberately NOT mapped (field notes section 4):
# contested rows - Certificate Authority (CertSvc vs EventSystem), NTDS (NTDS vs
# EventSystem), MSSearch Service Writer (WSearch vs EventSystem); single-source rows -
# VSS Metadata Store Writer, Task Scheduler Writer; no source at all - Performance
# Counters Writer. A failed writer without a row is reported, never guessed; users add
# rows with ``extra_writer_services``.
# ``disruptive``: restarting the service interrupts a production workload (mail, VMs,
# web sites, DHCP/WINS/WDS, replication, search, licensing, queues). System plumbing
# (CryptSvc, Winmgmt, VSS, BITS, EventSystem, the SQL *VSS writer* service, WIDWriter,
# srmsvc) is not.
def _row(name, writer_id, service, disruptive=False):
    return {"name": name, "writer_id": writer_id, "service": service, "disruptive": disruptive}


WRITER_SERVICES: tuple[dict, ...] = (
    _row("System Writer", "e8132975-6f93-4464-a53e-1050253ae220", "CryptSvc"),
    _row("WMI Writer", "a6ad56c2-b509-4e6c-bb19-49d8f43532f0", "Winmgmt"),
    _row("SqlServerWriter", "a65faa63-5ea8-4ebc-9dbd-a0c4db26912a", "SQLWriter"),
    _row("IIS Config Writer", "2a40fd15-dfca-4aa8-a654-1f8c654603f6", "AppHostSvc", True),
    _row("IIS Metabase Writer", "59b1f0cf-90ef-465f-9609-6ca8b2938366", "IISADMIN", True),
    _row("ASR Writer", "be000cbe-11fe-4426-9c58-531aa6355fc4", "VSS"),
    _row("COM+ REGDB Writer", "542da469-d3e1-473c-9f4f-7847f01fc64f", "VSS"),
    _row("Registry Writer", "afbab4a2-367d-4d15-a586-71dbb18f8485", "VSS"),
    _row("Shadow Copy Optimization Writer", "4dc3bdd4-ab48-4d07-adb0-3bee2926fd7f", "VSS"),
    _row("BITS Writer", "4969d978-be47-48b0-b100-f328f07ac1e0", "BITS"),
    _row("DFS Replication service writer", None, "DFSR", True),
    _row("Dhcp Jet Writer", "be9ac81e-3619-421f-920f-4c6fea9e93ad", "DHCPServer", True),
    _row("FRS Writer", None, "NtFrs", True),
    _row("FSRM Writer", "12ce4370-5bb7-4c58-a76a-e5d5097e3674", "srmsvc"),
    _row("Microsoft Hyper-V VSS Writer", None, "vmms", True),
    _row("Microsoft Exchange Writer", "76fe1ac4-15f7-4bcd-987e-8e1acb462fb7", "MSExchangeIS", True),
    _row("Microsoft Exchange Replica Writer", None, "MSExchangeRepl", True),
    _row("TermServLicensing", "5382579c-98df-47a7-ac6c-98a6d7106e09", "TermServLicensing", True),
    _row("WINS Jet Writer", "f08c1483-8407-4a26-8c26-6c267a629741", "WINS", True),
    _row("NPS VSS Writer", "35e81631-13e1-48db-97fc-d5bc721bb18a", "EventSystem"),
    _row("WDS VSS Writer", "82cb5521-68db-4626-83a4-7fc6f88853e9", "WDSServer", True),
    _row("WIDWriter", "8d5194e1-e455-434a-b2e5-51296cce67df", "WIDWriter"),
    _row("OSearch VSS Writer", None, "OSearch", True),
    _row("OSearch14 VSS Writer", None, "OSearch14", True),
    _row("OSearch15 VSS Writer", None, "OSearch15", True),
    _row("SPSearch VSS Writer", None, "SPSearch", True),
    _row("SPSearch4 VSS Writer", None, "SPSearch4", True),
    _row("MSMQ Writer (MSMQ)", "7e47b561-971a-46e6-96b9-696eeaa53b2a", "MSMQ", True),
)

# service (lowercase) -> disruptive, for services of the built-in map
_BUILTIN_DISRUPTIVE = {row["service"].lower(): row["disruptive"] for row in WRITER_SERVICES}


def default_allowed_services() -> list[str]:
    """Services the fix may restart when the user does not say: the non-disruptive ones of the map."""
    seen = {}
    for row in WRITER_SERVICES:
        if not row["disruptive"]:
            seen.setdefault(row["service"].lower(), row["service"])
    return list(seen.values())


def _normalize_guid(value) -> str | None:
    if value is None or value == "":
        return None
    text = str(value).strip().strip("{}").lower()
    if not re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text):
        raise ValueError(f"writer_id {value!r} is not a GUID")
    return text


def normalize_extra_map(extra_map) -> list[dict]:
    """Validate user rows ``{name?, writer_id?, service, disruptive?}``; raise ValueError naming the bad row."""
    rows = []
    for position, entry in enumerate(extra_map or []):
        where = f"extra_writer_services[{position}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} must be a dict with name and/or writer_id and service, got {entry!r}")
        unknown = set(entry) - {"name", "writer_id", "service", "disruptive"}
        if unknown:
            raise ValueError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
        service = entry.get("service")
        if not isinstance(service, str) or not service.strip():
            raise ValueError(f"{where} needs a non-empty 'service'")
        name = entry.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ValueError(f"{where}: 'name' must be a non-empty string")
        try:
            writer_id = _normalize_guid(entry.get("writer_id"))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if name is None and writer_id is None:
            raise ValueError(f"{where} needs 'name' or 'writer_id'")
        disruptive = entry.get("disruptive")
        if disruptive is None:
            # a service we know nothing about is disruptive unless the user says otherwise
            disruptive = _BUILTIN_DISRUPTIVE.get(service.strip().lower(), True)
        rows.append(
            {
                "name": name.strip() if name else None,
                "writer_id": writer_id,
                "service": service.strip(),
                "disruptive": bool(disruptive),
            }
        )
    return rows


def lookup_service(writer: dict, extra_map=None) -> dict | None:
    """The map row for ``writer``: user rows first, each table by writer id, then by name (case-insensitive)."""
    writer_id = (writer.get("writer_id") or "").lower() or None
    name = (writer.get("name") or "").casefold()
    for table in (normalize_extra_map(extra_map), WRITER_SERVICES):
        if writer_id:
            for row in table:
                if row["writer_id"] and row["writer_id"] == writer_id:
                    return row
        for row in table:
            if row["name"] and row["name"].casefold() == name:
                return row
    return None


# --------------------------------------------------------------------------- plan


def _names(writers) -> str:
    return ", ".join(f"'{w['name']}'" for w in writers)


def plan_vss(
    writers: list[dict],
    services: list[dict] | None,
    *,
    extra_map=None,
    allowed_services=None,
    restart: bool = False,
    force_dependent_services: bool = False,
) -> dict:
    """Decide which services to restart for the writers that are not stable.

    ``services`` is the probe's service list (``name``, ``state``, ``dependents``...).
    ``allowed_services`` None means :func:`default_allowed_services` (plus non-disruptive
    services of user rows). Returns ``bad_writers``, ``actions`` (one per service, deduplicated),
    ``unmapped`` (writers without a trusted row: reported, never guessed) and ``missing_services``
    (mapped services not installed on the host: reported, not restarted).
    """
    extra = normalize_extra_map(extra_map)
    by_service = {str(s.get("name", "")).lower(): s for s in (services or []) if isinstance(s, dict)}
    if allowed_services is None:
        allowed = {s.lower() for s in default_allowed_services()}
        allowed |= {row["service"].lower() for row in extra if not row["disruptive"]}
    else:
        allowed = {str(s).strip().lower() for s in allowed_services}

    bad = [w for w in writers if w.get("state") != STABLE]
    actions: dict[str, dict] = {}
    unmapped = []
    missing: dict[str, dict] = {}
    for writer in bad:
        row = lookup_service(writer, extra)
        if row is None:
            unmapped.append(writer)
            continue
        key = row["service"].lower()
        host_service = by_service.get(key)
        if host_service is None:
            entry = missing.setdefault(key, {"service": row["service"], "writers": []})
            entry["writers"].append(writer["name"])
            continue
        action = actions.get(key)
        if action is None:
            action = actions[key] = {
                "action": "restart_service",
                "service": host_service.get("name") or row["service"],
                "writers": [],
                "allowed": True,
                "disruptive": row["disruptive"],
                "dependents": sorted(
                    d
                    for d in host_service.get("dependents") or []
                    if str(by_service.get(str(d).lower(), {}).get("state", "running")) != "stopped"
                ),
            }
        action["disruptive"] = action["disruptive"] or row["disruptive"]
        if writer["name"] not in action["writers"]:
            action["writers"].append(writer["name"])

    for key, action in actions.items():
        reason = None
        if key not in allowed:
            if allowed_services is None and action["disruptive"]:
                reason = "disruptive service: restarted only when listed in allowed_services"
            else:
                reason = "not in allowed_services"
        elif action["dependents"] and not force_dependent_services:
            reason = (
                f"running dependent services ({', '.join(action['dependents'])}) would stop too: "
                "set force_dependent_services to allow it"
            )
        elif not restart:
            reason = "restart not opted in (restart: false)"
        if reason:
            action["allowed"] = False
            action["reason"] = reason
    return {
        "bad_writers": bad,
        "actions": list(actions.values()),
        "unmapped": unmapped,
        "missing_services": list(missing.values()),
    }


def _fix_text(plan: dict) -> str:
    parts = []
    allowed = [a for a in plan["actions"] if a["allowed"]]
    if allowed:
        parts.append(
            "; ".join(f"restart {a['service']} (hosts {_names([{'name': n} for n in a['writers']])})" for a in allowed)
        )
    for action in plan["actions"]:
        if not action["allowed"]:
            hosts = _names([{"name": n} for n in action["writers"]])
            parts.append(f"would restart {action['service']} (hosts {hosts}) but not allowed: {action['reason']}")
    for entry in plan["missing_services"]:
        hosts = _names([{"name": n} for n in entry["writers"]])
        parts.append(f"service {entry['service']} (mapped for {hosts}) is not installed: not restarted")
    if plan["unmapped"]:
        parts.append(f"no trusted service mapping (reported, never guessed): {_names(plan['unmapped'])}")
    return "; ".join(parts)


def _hold_for_running_backup(probe, writers, plan, options) -> None:
    """Never restart in the middle of a backup (one rule with the agent fix,
    ``_backup_activity``): while the VMSnapshot extension is transitioning no restart is allowed; a
    writer in states 2-5 is a snapshot in progress, restarted only once it persisted across probes
    ``waiting_recheck`` seconds apart (``persisting_writers``, found by the action plugin)."""
    busy, why = extension_transitioning(probe, int(options.get("backup_stale_minutes") or 180))
    persisting = set(options.get("persisting_writers") or [])
    waiting = {w["name"] for w in waiting_writers(writers) if w["name"] not in persisting}
    plan["waiting_writers"] = sorted(waiting)
    for action in plan["actions"]:
        held = sorted(set(action["writers"]) & waiting)
        if busy:
            action["allowed"], action["reason"] = False, f"a backup is in progress: {why}"
        elif held:
            action["allowed"] = False
            action["in_progress"] = True
            action["reason"] = (
                f"writer(s) {', '.join(held)} inside a snapshot (state 2-5): in progress, retry later "
                "(restarted only if still waiting after waiting_recheck seconds)"
            )


def assess_vss(probe: dict, options: dict | None = None) -> tuple[dict, list[dict] | None, dict | None]:
    """``(finding, writers, plan)`` for one probe result; writers/plan are None on status error."""
    options = dict(options or {})
    if not isinstance(probe, dict):
        return make_finding(ERROR_CODE, "error", "no Windows probe result to evaluate"), None, None
    vss = probe.get("vssadmin")
    if not isinstance(vss, dict):
        return make_finding(ERROR_CODE, "error", "the probe has no vssadmin result"), None, None
    rc = vss.get("rc")
    stdout = vss.get("stdout") or ""
    if rc != 0:
        tail = " ".join(line.strip() for line in str(stdout).splitlines() if line.strip())[-300:]
        return (
            make_finding(ERROR_CODE, "error", f"vssadmin list writers failed (rc={rc}): {tail or 'no output'}"),
            None,
            None,
        )
    try:
        writers = parse_vss_writers(stdout)
    except VssParseError as exc:
        return make_finding(ERROR_CODE, "error", f"could not parse vssadmin list writers output: {exc}"), None, None
    if not writers:
        return (
            make_finding(
                ERROR_CODE,
                "error",
                "vssadmin list writers listed no writers (banner only): the VSS service may be down",
            ),
            writers,
            None,
        )
    if any(w.get("state") != STABLE for w in writers):
        problem = require(probe, "services")  # the plan maps writers to services: never from missing data
        if problem:
            return make_finding(ERROR_CODE, "error", problem), writers, None
    plan = plan_vss(
        writers,
        probe.get("services"),
        extra_map=options.get("extra_writer_services"),
        allowed_services=options.get("allowed_services"),
        restart=bool(options.get("restart", False)),
        force_dependent_services=bool(options.get("force_dependent_services", False)),
    )
    problem = service_errors(probe.get("services"), [a["service"] for a in plan["actions"]])
    if problem:  # a service to restart whose configuration or dependents could not be read
        return make_finding(ERROR_CODE, "error", problem), writers, None
    _hold_for_running_backup(probe, writers, plan, options)
    bad = plan["bad_writers"]
    if not bad:
        return make_finding(ERROR_CODE, "pass", f"all {len(writers)} writers stable"), writers, plan
    # contract form (docs/architecture.md): 'System Writer' [8] Timed out  (last error as printed)
    detail = f"{len(bad)} writer{'s' if len(bad) != 1 else ''} not stable: " + ", ".join(
        f"'{w['name']}' [{w['state']}] {w['last_error'] or STATE_NAMES.get(w['state'], 'unknown state')}" for w in bad
    )
    return make_finding(ERROR_CODE, "fail", detail, _fix_text(plan), plan["actions"]), writers, plan


def evaluate_vss(probe: dict, options: dict | None = None) -> dict:
    """The finding for ExtensionFailedVssWriterInBadState (docs/architecture.md, Finding).

    ``options``: ``restart``, ``allowed_services``, ``extra_writer_services``,
    ``force_dependent_services`` (the ``vss_writers`` module options).
    """
    return assess_vss(probe, options)[0]
