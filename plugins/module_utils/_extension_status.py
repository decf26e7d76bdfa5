# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VMSnapshot extension's ``.status`` file: parser and the SnapshotExtensionLoadFailed evaluator (internal).

Shared by both systems: the Windows probe's ``extension_status`` section and the Linux gather
(``_linux_conditions.evaluate_linux_extension_status``, run by a module on the host) hand it the
same ``{found, path, content}``. The newest ``.status`` file of the extension (Windows:
``C:\\Packages\\Plugins\\Microsoft.Azure.RecoveryServices.VMSnapshot\\<version>\\Status\\``) says
whether the last operation failed; its error code and message go into the scan report (field-notes
section 2: a ``.status`` file is a JSON list whose items have ``status.status``, ``status.code``,
``status.formattedMessage.message`` and ``status.substatus[]``).
"""

from __future__ import annotations

import json
import re

from ansible_collections.vmbackup.azure.plugins.module_utils._catalog import CATALOG
from ansible_collections.vmbackup.azure.plugins.module_utils._findings import make_finding, probe_section


class StatusParseError(ValueError):
    """The status file is not the JSON the extension writes; the message says what is wrong."""


def _text(value):
    return None if value is None else str(value)


def parse_extension_status(text) -> dict:
    """The newest item of a handler ``.status`` file (a JSON list; field-notes section 2).

    Returns ``{status, code, message, operation, name, timestamp, substatus: [{name, status, code, message}]}``.
    Raises :class:`StatusParseError` (never anything else) when the text is not such a list.
    """
    if text is None:
        raise StatusParseError("the status file is empty")
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not isinstance(text, str):
        raise StatusParseError(f"the status file content is {type(text).__name__}, not text")
    text = text.lstrip("\ufeff").strip()
    if not text:
        raise StatusParseError("the status file is empty")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise StatusParseError(f"the status file is not valid JSON: {exc}") from None
    if isinstance(data, dict):  # tolerate a single object where a list is expected
        data = [data]
    if not isinstance(data, list) or not data:
        raise StatusParseError("the status file is not a non-empty JSON list")
    item = data[-1]
    if not isinstance(item, dict) or not isinstance(item.get("status"), dict):
        raise StatusParseError("the status file's item has no 'status' object")
    status = item["status"]
    formatted = status.get("formattedMessage")
    message = formatted.get("message") if isinstance(formatted, dict) else None
    substatus = []
    subs = status.get("substatus")
    for sub in subs if isinstance(subs, list) else []:
        if not isinstance(sub, dict):
            continue
        sub_formatted = sub.get("formattedMessage")
        substatus.append(
            {
                "name": _text(sub.get("name")),
                "status": _text(sub.get("status")),
                "code": _text(sub.get("code")),
                "message": _text(sub_formatted.get("message") if isinstance(sub_formatted, dict) else None),
            }
        )
    return {
        "status": _text(status.get("status")),
        "code": _text(status.get("code")),
        "message": _text(message),
        "operation": _text(status.get("operation")),
        "name": _text(status.get("name")),
        "timestamp": _text(item.get("timestampUTC")),
        "substatus": substatus,
    }


def _catalog_matches(texts) -> list[str]:
    """Catalog codes (and aliases) named as whole words in the extension's messages."""
    joined = " ".join(t for t in texts if t)
    found = []
    for entry in CATALOG:
        for name in (entry.code, *entry.aliases):
            if re.search(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", joined) and entry.code not in found:
                found.append(entry.code)
    return found


def evaluate_extension_status(probe: dict, options: dict | None = None) -> dict:
    code = "SnapshotExtensionLoadFailed"
    data, error = probe_section(probe, "extension_status", code, (dict,))
    if error:
        return error
    if not data.get("found"):
        return make_finding(
            code, "not_applicable", "no VMSnapshot extension status file on this VM (the extension never ran here)"
        )
    path = data.get("path") or "the newest .status file"
    try:
        parsed = parse_extension_status(data.get("content"))
    except StatusParseError as exc:
        return make_finding(code, "error", f"{path}: {exc}")
    state = (parsed["status"] or "").lower()
    when = f" at {parsed['timestamp']}" if parsed["timestamp"] else ""
    op = f" ({parsed['operation']})" if parsed["operation"] else ""
    if state in ("success", "transitioning", "warning"):
        extra = " — an operation is running" if state == "transitioning" else ""
        return make_finding(code, "pass", f"{path}: last operation{op} {state}{when}{extra}")
    messages = [parsed["message"]] + [s["message"] for s in parsed["substatus"] if s["status"] != "success"]
    subs = [
        f"{s['name']}: {s['status']}" + (f" (code {s['code']})" if s["code"] not in (None, "0") else "")
        for s in parsed["substatus"]
        if (s["status"] or "").lower() not in ("success", "")
    ]
    detail = f"{path}: last operation{op} {state or 'unknown'}{when}, code {parsed['code']}"
    if parsed["message"]:
        detail += f": {' '.join(parsed['message'].split())[:400]}"
    if subs:
        detail += f"; substatus {', '.join(subs)}"
    matches = _catalog_matches(messages)
    fix = "report only, nothing changed in the guest: read the error above"
    if matches:
        detail += f"; names catalog code(s) {', '.join(matches)}"
        fix += f" and apply the fix of {', '.join(matches)} (vmbackup.azure.remediate)"
    fix += (
        "; if the extension itself fails to load, uninstalling it from the VM (control plane) makes the next"
        " backup reinstall it."
    )
    return make_finding(code, "fail", detail, fix)
