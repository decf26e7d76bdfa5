# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Is a backup running on this Windows host? One rule for the agent fix and the VSS fix (internal, pure).

A backup is in progress when the VMSnapshot extension's newest ``.status`` says ``transitioning``
and was written less than ``stale_minutes`` ago, or when VSS writers sit in states 2-5
(VSS_WRITER_STATE: waiting for freeze / thaw / post snapshot / backup complete: a snapshot is being
taken; MicrosoftDocs/sdk-api ne-vss-vss_writer_state.md). Nothing disruptive runs then. Writers in
2-5 are only "stuck" when they persist across probes minutes apart while the extension is not
transitioning (the VSS fix re-probes for that, ``waiting_recheck``).

Timestamps come from .NET ``ToString('o')``: 7 fractional digits and ``Z``, which
``datetime.fromisoformat`` rejects before Python 3.11 (meta/runtime.yml admits 3.10 controllers), so
:func:`parse_dotnet_utc` parses them itself.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from ansible_collections.vmbackup.azure.plugins.module_utils._extension_status import (
    StatusParseError,
    parse_extension_status,
)

WAITING_WRITER_STATES = (2, 3, 4, 5)
_DOTNET_O = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?(Z|[+-]\d{2}:\d{2})?$", re.IGNORECASE
)


def parse_dotnet_utc(text) -> datetime | None:
    """An aware datetime from a .NET round-trip ('o') timestamp; None when unparsable or without zone."""
    match = _DOTNET_O.match(str(text or "").strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if not zone:
        return None  # a local time without offset cannot be compared safely
    micro = int((fraction or "0").ljust(7, "0")[:6])
    if zone.upper() == "Z":
        tz = UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz)
    except ValueError:
        return None


def extension_transitioning(probe: dict, stale_minutes: int) -> tuple[bool, str]:
    """(the VMSnapshot extension reports a running operation, why)."""
    status = probe.get("extension_status") if isinstance(probe, dict) else None
    if not (isinstance(status, dict) and status.get("found") and status.get("content") is not None):
        return False, ""
    try:
        parsed = parse_extension_status(status["content"])
    except StatusParseError:
        return False, ""
    if not parsed or str(parsed.get("status") or "").lower() != "transitioning":
        return False, ""
    written, now = parse_dotnet_utc(status.get("last_write_utc")), parse_dotnet_utc(status.get("now_utc"))
    age = (now - written).total_seconds() / 60 if written and now else None
    if age is not None and age >= stale_minutes:
        return False, ""
    when = f", written {age:.0f} min ago" if age is not None else ""
    return True, f"the VMSnapshot extension reports a running operation ({status.get('path')}{when})"


def waiting_writers(writers) -> list[dict]:
    return [w for w in writers or [] if isinstance(w, dict) and w.get("state") in WAITING_WRITER_STATES]


def backup_in_progress(probe: dict, stale_minutes: int) -> tuple[bool, str]:
    """(in progress?, why) from the extension's newest status file and the VSS writer states."""
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._vss import VssParseError, parse_vss_writers

    busy, why = extension_transitioning(probe, stale_minutes)
    if busy:
        return True, why
    vss = probe.get("vssadmin") if isinstance(probe, dict) else None
    if isinstance(vss, dict) and vss.get("stdout"):
        try:
            writers = parse_vss_writers(vss["stdout"])
        except VssParseError as exc:  # unreadable: assume busy, never act on it
            return True, f"vssadmin output could not be parsed, so a running snapshot cannot be ruled out: {exc}"
        waiting = waiting_writers(writers)
        if waiting:
            names = ", ".join(f"'{w['name']}' [{w['state']}]" for w in waiting)
            return True, f"VSS writers are waiting inside a snapshot: {names}"
    return False, ""
