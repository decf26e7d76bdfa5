# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Edits of small configuration files that keep the file (internal helper, standard library only).

Used by the vmbackup.conf (``vmbackup_conf``) and waagent.conf (``waagent``) edits:

* ``split_keepends(text, universal)`` -- lines with their own line ending, so untouched lines keep
  their bytes (CRLF stays CRLF). Only ``\\n`` and ``\\r\\n`` end a line (``universal``: also a lone
  ``\\r``, as Python's universal newlines - what ConfigParser reads); never form feed, U+2028 & co.
  (``str.splitlines`` splits on those).
* ``read_text(path)`` -- the file decoded as UTF-8 with ``surrogateescape``: a non-UTF-8 byte
  survives an edit unchanged. ``is_utf8`` says whether it was clean.
* ``write_text(module, path, text)`` -- follows a symlink to its target, as ``lineinfile`` does
  (ansible/modules/lineinfile.py, ``write_changes``: ``module.atomic_move(tmpfile, os.path.realpath(dest))``),
  writes a temporary file beside the target and moves it over it. Every error names the file and the
  reason; nothing half-written is left behind.
* ``backup(path)`` -- a dated copy beside the target (``<target>.<pid>.<date>~``, the name
  ``AnsibleModule.backup_local`` uses); a partial copy (full disk) is removed and the error says so.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
import time

_EOL = {True: re.compile(r"\r\n|\n|\r"), False: re.compile(r"\r?\n")}


class ConfFileError(Exception):
    """A file could not be read, backed up or written; the message names the file and the reason."""


def split_keepends(text: str, universal: bool = False) -> list:
    """``[(line, ending)]``: ``ending`` is ``\\r\\n``, ``\\n`` (``\\r`` too with ``universal``), or ``""``
    for a last line without one."""
    out = []
    pos = 0
    for match in _EOL[bool(universal)].finditer(text or ""):
        out.append((text[pos : match.start()], match.group()))
        pos = match.end()
    if pos < len(text or ""):
        out.append((text[pos:], ""))
    return out


def dominant_ending(pairs: list) -> str:
    """The line ending most lines of the file use (``\\n`` for an empty file)."""
    counts = {}
    for _line, ending in pairs:
        if ending:
            counts[ending] = counts.get(ending, 0) + 1
    return max(counts, key=counts.get) if counts else "\n"


def join_pairs(pairs: list) -> str:
    return "".join(line + ending for line, ending in pairs)


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError):
        text = exc.strerror or str(exc)
        if exc.errno == errno.ENOSPC:
            text += " (the filesystem is full)"
        return text
    return str(exc)


def read_text(path: str) -> tuple:
    """``(text, is_utf8)`` of ``path``; non-UTF-8 bytes decode as surrogates and encode back unchanged."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ConfFileError(f"cannot read {path}: {_reason(exc)}") from None
    try:
        return data.decode("utf-8"), True
    except UnicodeDecodeError:
        return data.decode("utf-8", "surrogateescape"), False


def target_of(path: str) -> str:
    """The file an edit of ``path`` writes: the target of a symlink (chains followed), else ``path``."""
    return os.path.realpath(path) if os.path.islink(path) else path


def backup(path: str) -> str:
    """Copy ``path`` (its target) to a dated backup beside it; returns the backup's path."""
    target = target_of(path)
    dest = f"{target}.{os.getpid()}.{time.strftime('%Y-%m-%d@%H:%M:%S~', time.localtime())}"
    try:
        shutil.copy2(target, dest)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(dest)
        raise ConfFileError(
            f"cannot back up {path} to {dest}: {_reason(exc)}; the partial backup was removed and {path} "
            "was not changed"
        ) from None
    return dest


def write_text(module, path: str, text: str, new_mode: int = 0o644) -> str:
    """Replace ``path`` (the target of a symlink) with ``text`` (UTF-8, surrogates back to their bytes).

    Owner, mode and SELinux context are kept by ``module.atomic_move``; a new file gets ``new_mode``.
    """
    target = target_of(path)
    directory = os.path.dirname(target) or "."
    data = text.encode("utf-8", "surrogateescape")
    tmp = None
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, mode=0o755)
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", dir=directory)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if not os.path.exists(target):
            os.chmod(tmp, new_mode)
    except OSError as exc:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
        raise ConfFileError(f"cannot write {path}: {_reason(exc)}; {path} was not changed") from None
    try:
        module.atomic_move(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target
