# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keep secrets carried in URLs out of reports and fix texts (internal, pure Python).

A signed URL (an Azure Storage SAS: ``...msi?sv=...&sig=...``) or one with credentials
(``https://user:pass@host/...``) given as ``msi_path`` / ``vcredist_path`` would otherwise be copied
into the finding's ``fix`` text, the JSON, HTML and JUnit reports and the task output. Every URL in
such text keeps its scheme, host, port and path; its userinfo is dropped and its query string and
fragment are replaced by a marker.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# scheme://... up to whitespace, a quote, or markup; trailing punctuation of the sentence is kept out.
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>`]+")
_TRAILING = ".,;:)]}"
MARKER = "?[query removed]"


def _clean_url(url: str) -> str:
    tail = ""
    while url and url[-1] in _TRAILING:
        url, tail = url[:-1], url[-1] + tail
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)[-1]
        hidden = bool(parts.query or parts.fragment or "@" in parts.netloc)
        clean = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:  # an unparsable URL (e.g. a bad port): keep only what precedes ? # and @
        clean = re.split(r"[?#]", url, maxsplit=1)[0]
        scheme, sep, rest = clean.partition("://")
        clean = scheme + sep + rest.rsplit("@", 1)[-1]
        hidden = True
    if "?" in url and hidden:
        clean += MARKER
    return clean + tail


def redact_text(text: str) -> str:
    """``text`` with every URL's userinfo, query string and fragment removed."""
    if "://" not in text:
        return text
    return _URL.sub(lambda match: _clean_url(match.group(0)), text)


def redact(value):
    """``redact_text`` applied to every string in ``value`` (a str, list, tuple or dict; keys too)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {redact(k) if isinstance(k, str) else k: redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value
