# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A capture of the Windows probe from a real host, sanitized (internal to vmbackup.azure).

``playbooks/capture.yml`` writes one capture per host; the simulator takes it as a host
(``plugins/plugin_utils/_winsim/replay.py``), so real servers become regression fixtures
(docs/simulator.md, "Captures from real hosts"). The probe reads no secret; the capture still drops
what could identify people or carry data (event messages are cut to their first line, the
extension ``.status`` keeps only its JSON status fields) and, with ``anonymize``, replaces the
computer name, certificate thumbprints, subjects and issuers and IP addresses by stable hashes.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re

CAPTURE_NAME = "vmbackup.azure.windows_probe_capture"
CAPTURE_VERSION = 1
_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")


def _hash(text: str, length: int = 12) -> str:
    return hashlib.sha256(str(text).encode("utf-8")).hexdigest()[:length]


def _status_fields(content):
    """Only the status fields of a VMSnapshot ``.status`` file (messages may carry data)."""
    try:
        items = json.loads(content)
    except (TypeError, ValueError):
        return None
    out = []
    for item in items if isinstance(items, list) else []:
        status = (item or {}).get("status") if isinstance(item, dict) else None
        if isinstance(status, dict):
            message = (
                (status.get("formattedMessage") or {}).get("message")
                if isinstance(status.get("formattedMessage"), dict)
                else None
            )
            out.append(
                {
                    "status": {
                        "status": status.get("status"),
                        "code": status.get("code"),
                        "formattedMessage": {"message": str(message or "").splitlines()[0][:200] if message else ""},
                    }
                }
            )
    return json.dumps(out)


def sanitize(probe: dict, anonymize: bool = False) -> dict:
    """The capture of one probe result (a new dict; ``probe`` is not changed)."""
    data = copy.deepcopy(probe)
    events = data.get("events")
    if isinstance(events, dict):
        for event in events.get("backup_failures") or []:
            if isinstance(event, dict):
                event["message"] = str(event.get("message") or "").splitlines()[0][:200] if event.get("message") else ""
    status = data.get("extension_status")
    if isinstance(status, dict) and status.get("content") is not None:
        status["content"] = _status_fields(status["content"])
    if anonymize:
        name = str(data.get("computer_name") or "")
        alias = "HOST-" + _hash(name, 8).upper() if name else ""
        for cert in data.get("certificates_my") or []:
            if isinstance(cert, dict):
                cert["thumbprint"] = hashlib.sha1(str(cert.get("thumbprint")).encode()).hexdigest().upper()  # noqa: S324
                for key in ("subject", "issuer"):
                    value = str(cert.get(key) or "")
                    # the extension certificates are recognised by their well-known CNs: keep those
                    if "Windows Azure" not in value and "Microsoft" not in value:
                        cert[key] = "CN=" + _hash(value)
        text = json.dumps(data)
        if name:
            text = re.sub(re.escape(name), alias, text, flags=re.IGNORECASE)
        text = _IPV4.sub(lambda m: f"10.255.{int(_hash(m.group(0), 4), 16) % 250}.1", text)
        data = json.loads(text)
    return {
        "capture": CAPTURE_NAME,
        "version": CAPTURE_VERSION,
        "anonymized": bool(anonymize),
        "probe": data,
    }
