# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every Linux module of the collection shares on the host (internal).

``C_LOCALE`` is the environment of every command whose output is parsed (community.general runs
commands with ``LANGUAGE=C LC_ALL=C`` for the same reason: a localized message would not match).
``read_file`` reads a small text file (``/proc``, ``/sys``, ``/etc``) without raising.
"""

from __future__ import annotations

C_LOCALE = {"LANG": "C", "LC_ALL": "C", "LANGUAGE": "C"}


def read_file(path: str, default: str | None = None, limit: int | None = None) -> str | None:
    """The text of ``path`` (undecodable bytes replaced), at most ``limit`` characters; ``default`` on any OSError."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(limit) if limit else handle.read()
    except OSError:
        return default
