# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``/etc/azure/vmbackup.conf``, read the way the Linux backup extension reads it (internal helper).

Why a parser of our own (docs/field-notes.md section 1, Azure/azure-linux-extensions
``VMBackup/main/Utils/HandlerUtil.py``):

* The extension reads only ``/etc/azure/vmbackup.conf`` with Python's ``ConfigParser`` (strict in
  Python 3) and swallows every exception: a file that does not parse silently disables *every*
  setting in it. So we must tell, before writing, whether the extension will read the file.
* Keys are case-insensitive (``optionxform`` lowercases them) and the extension itself rewrites
  the file with lowercase keys; ``MountsToSkip`` beside ``mountstoskip`` is a
  ``DuplicateOptionError`` and the whole file is ignored. We write lowercase keys, never a duplicate,
  and merge duplicates we find.
* ``ConfigParser`` round trips drop comments; we edit lines instead, so an operator's comments and
  the order of the file survive.

``parse_conf(text)`` gives the line structure and the problems, ``configparser_errors(text)`` asks
the real ``configparser`` (the final word), ``plan_conf(...)`` the new text, and
``evaluate_vmbackup_conf(facts, options)`` the ExtensionFailedSnapshotLimitReachedError finding.
Pure standard library: runs in the remote module and on the controller.
"""

from __future__ import annotations

import configparser
import re
import stat

from ansible_collections.vmbackup.azure.plugins.module_utils._conffile import (
    dominant_ending,
    join_pairs,
    split_keepends,
)
from ansible_collections.vmbackup.azure.plugins.module_utils._findings import make_finding

ERROR_CODE = "ExtensionFailedSnapshotLimitReachedError"
DEFAULT_PATH = "/etc/azure/vmbackup.conf"
DEFAULT_SECTION = "SnapshotThread"
PLUGIN_HOST_CONF = "/etc/azure/VMSnapshotPluginHost.conf"

# Keys the current extension reads (field-notes section 1). Others are kept but reported as unknown.
KNOWN_KEYS = {
    "SnapshotThread": (
        "writelog",
        "uploadstatusandlog",
        "disable_logging",
        "loggingoff",
        "sudo_off",
        "onlylocalfilesystems",
        "snapshotmethod",
        "timeout",
        "safefreezewaitinseconds",
        "mountstoskip",
        "seqsnapshot",
        "onappfailuredofsfreeze",
        "onappsuccessdofsfreeze",
    ),
    "lsblkUser": ("username",),
    "Monitor": ("run", "strace", "location"),
}
# Read only by extensions of 2018-10-09 .. 2019-01-29 (Azure/azure-linux-extensions commits c4a5214a .. 6cbd95fd,
# docs/upstream/vmbackup-extension.md R6), compared with == 'False': setting it is legacy.
LEGACY_KEYS = ("isanysnapshotfailed",)
# How the extension reads values (docs/upstream/vmbackup-extension.md; Azure/azure-linux-extensions
# commit b7eecd4b, VMBackup/main/...). Booleans compared case-sensitively with 'True':
# Utils/HandlerUtil.py:177-178 and backuplogger.py:56-57 (WriteLog), backuplogger.py:115-116 and handle.py:125-126
# (UploadStatusAndLog); onlyLocalFilesystems in ['True', 'true'] (Utils/SizeCalculation.py:264-266);
# isanysnapshotfailed == 'False' (freezesnapshotter.py in c4a5214a .. 6cbd95fd, 2018-10-09 .. 2019-01-29).
BOOL_KEYS = ("writelog", "uploadstatusandlog", "onlylocalfilesystems", "isanysnapshotfailed")
# Off unless exactly 'True' (the default, when unset, is on).
TRUE_ONLY_KEYS = ("writelog", "uploadstatusandlog")
# int(value), else the default (HandlerUtil.get_intvalue_from_configfile, HandlerUtil.py:460-472).
INT_KEYS = {
    "timeout": 60,
    "safefreezewaitinseconds": 66,
    "seqsnapshot": 0,
    "disable_logging": 0,
    "loggingoff": 0,
    "sudo_off": 0,
}
# Read as strings and compared with the Python booleans True/False (handle.py:308-309, 338-341, 462-470):
# no value has any effect.
NO_EFFECT_KEYS = ("onappfailuredofsfreeze", "onappsuccessdofsfreeze")
# Comma-separated lists: duplicates of these merge as the union of their items.
LIST_KEYS = ("mountstoskip",)
SNAPSHOT_METHODS = ("onlyGuest", "firstGuestThenHost", "firstHostThenGuest", "onlyHost")

# configparser.RawConfigParser.SECTCRE / _OPT_TMPL / NONSPACECRE, matched against the stripped line
_SECTION_RE = re.compile(r"\[(?P<name>.+)\]")
_OPTION_RE = re.compile(r"(?P<option>.*?)\s*(?P<vi>=|:)\s*(?P<value>.*)$")
_NONSPACE_RE = re.compile(r"\S")
_KEY_RE = re.compile(r"^[a-z0-9_.\-]+$")


class ConfError(ValueError):
    """The file cannot be edited safely; nothing is written."""


def split_lines(text: str) -> list:
    """Lines as the extension's ``config.read(path)`` sees them (universal newlines)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def parse_conf(text: str) -> dict:
    """The structure of ``text`` as ``ConfigParser`` sees it, with line numbers (1-based).

    Mirrors ``RawConfigParser._read`` (Python 3): full-line comments ``#``/``;``, no inline comments,
    a line indented deeper than its option continues the value (empty lines inside a value are kept),
    ``[name]`` headers, ``key = value`` or ``key : value``.
    Returns ``{sections: [{name, line, entries: [{key, raw_key, value, line, end}]}], errors: [...],
    duplicates: [{section, key, lines}], duplicate_sections: [{name, lines}]}``. ``line``..``end`` is the
    span of an entry including its continuation lines; ``errors`` are lines ``ConfigParser`` refuses.
    """
    lines = split_lines(text)
    if lines and lines[-1] == "":
        lines.pop()
    sections = []
    errors = []
    current = None
    last_entry = None
    parts = None
    indent_level = 0
    for index, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            if not stripped and last_entry is not None:
                parts.append("")  # an empty line inside a value (dropped again if nothing follows)
            continue
        first = _NONSPACE_RE.search(line)
        indent = first.start() if first else 0
        if current is not None and last_entry is not None and indent > indent_level:
            parts.append(stripped)
            last_entry["value"] = "\n".join(parts).rstrip()
            last_entry["end"] = index
            continue
        indent_level = indent
        match = _SECTION_RE.match(stripped)
        if match:
            current = {"name": match.group("name"), "line": index, "entries": []}
            sections.append(current)
            last_entry = None
            continue
        if current is None:
            errors.append({"line": index, "text": line, "error": "a setting before any [section] header"})
            continue
        opt = _OPTION_RE.match(stripped)
        if not opt or not opt.group("option"):
            errors.append({"line": index, "text": line, "error": "neither a [section], a 'key = value' nor a comment"})
            continue
        raw_key = opt.group("option").rstrip()
        parts = [opt.group("value").strip()]
        last_entry = {
            "key": raw_key.lower(),
            "raw_key": raw_key,
            "value": parts[0],
            "line": index,
            "end": index,
        }
        current["entries"].append(last_entry)

    duplicate_sections = []
    by_name = {}
    for sec in sections:
        by_name.setdefault(sec["name"], []).append(sec["line"])
    for name, where in by_name.items():
        if len(where) > 1:
            duplicate_sections.append({"name": name, "lines": where})
    duplicates = []
    for sec in sections:
        seen = {}
        for entry in sec["entries"]:
            seen.setdefault(entry["key"], []).append(entry)
        for key, entries in seen.items():
            if len(entries) > 1:
                duplicates.append(
                    {
                        "section": sec["name"],
                        "key": key,
                        "lines": [e["line"] for e in entries],
                        "raw_keys": [e["raw_key"] for e in entries],
                        "values": [e["value"] for e in entries],
                    }
                )
    return {
        "sections": sections,
        "errors": errors,
        "duplicates": duplicates,
        "duplicate_sections": duplicate_sections,
    }


def _read(text: str, strict: bool = True) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=strict) if not strict else configparser.ConfigParser()
    parser.read_string("\n".join(split_lines(text)))
    return parser


def configparser_errors(text: str) -> list:
    """What Python 3's ``ConfigParser()`` (as the extension builds it) says about ``text``: a list of messages.

    Empty when the extension reads the file. Also lists values it cannot ``get`` (interpolation
    errors from a ``%``): the extension ignores those settings one by one.
    """
    try:
        parser = _read(text)
    except configparser.Error as exc:
        return [" ".join(str(exc).split())]
    problems = []
    for section in parser.sections():
        for key in parser.options(section):
            try:
                parser.get(section, key)
            except configparser.Error as exc:
                problems.append(f"[{section}] {key}: " + " ".join(str(exc).split()))
    return problems


def configparser_problems(text: str) -> tuple:
    """``(file_errors, key_errors)``: errors that make the extension ignore the whole file (it cannot be
    read), and ``{(section, key): message}`` for values it cannot ``get`` (a ``%``): only those are ignored,
    each where it is read."""
    try:
        parser = _read(text)
    except configparser.Error as exc:
        return [" ".join(str(exc).split())], {}
    keys = {}
    for section in parser.sections():
        for key in parser.options(section):
            try:
                parser.get(section, key)
            except configparser.Error as exc:
                keys[(section, key)] = " ".join(str(exc).split())
    return [], keys


def effective_settings(text: str, section: str = DEFAULT_SECTION) -> dict:
    """``{key: value}`` the extension sees in ``section`` (``has_option``/``get``: [DEFAULT] included), raw;
    ``{}`` when the file does not parse or the section is missing."""
    try:
        parser = _read(text)
    except configparser.Error:
        return {}
    if not parser.has_section(section):
        return {}
    return {k: parser.get(section, k, raw=True) for k in parser.options(section)}


def reading_notes(text: str, section: str = DEFAULT_SECTION) -> list:
    """How the extension reads the values of ``text`` where that is not what it says (report only)."""
    notes = []
    values = effective_settings(text, section)
    for key in TRUE_ONLY_KEYS:
        value = values.get(key)
        if value not in (None, "", "True", "False"):
            notes.append(f"{key} = {value} reads as off: the extension compares it with 'True' (case-sensitive)")
    for key in NO_EFFECT_KEYS:
        if key in values:
            notes.append(f"{key} has no effect (the extension compares the string with Python's True/False)")
    for key, default in INT_KEYS.items():
        value = values.get(key)
        if value not in (None, ""):
            try:
                int(value)
            except ValueError:
                notes.append(f"{key} = {value} is not a whole number: the extension uses its default {default}")
    if values.get("mountstoskip"):
        for item in values["mountstoskip"].split(","):
            if item == "/":
                notes.append("mountstoskip lists '/', which the extension always freezes")
            elif item != item.strip():
                notes.append(f"mountstoskip item {item!r} has blanks: it matches no mount point (exact comparison)")
            elif len(item) > 1 and item.endswith("/"):
                notes.append(f"mountstoskip item {item!r} ends with '/': it matches no mount point (exact comparison)")
    for sec in parse_conf(text)["sections"]:
        if sec["name"] != section and sec["name"].lower() == section.lower():
            notes.append(f"section [{sec['name']}] is never read: section names are case-sensitive ([{section}])")
    return notes


def raw_settings(text: str, strict: bool = True) -> dict:
    """``{section: {key: value}}`` as ``configparser`` reads ``text`` (no interpolation; raises configparser.Error)."""
    parser = _read(text, strict=strict)
    return {sec: {k: parser.get(sec, k, raw=True) for k in parser.options(sec)} for sec in parser.sections()}


def settings_of(parsed: dict, section: str) -> dict:
    """``{key: value}`` of ``section`` (last one wins, as Python 2's parser did); {} when absent."""
    out = {}
    for sec in parsed["sections"]:
        if sec["name"] == section:
            for entry in sec["entries"]:
                out[entry["key"]] = entry["value"]
    return out


def render_value(value: bool | int | str | list) -> str:
    """A setting as the extension compares it: bools ``True``/``False``, lists comma-separated without spaces."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v).strip() for v in value if str(v).strip())
    return str(value).strip()


def _split_list(value: str) -> list:
    return [item.strip() for item in str(value).split(",") if item.strip()]


def validate_settings(settings: dict, remove: list | tuple = ()) -> tuple:
    """Normalise and check the requested settings; raises ConfError naming the bad input."""
    out = {}
    for raw_key, value in (settings or {}).items():
        key = str(raw_key).strip().lower()
        if not _KEY_RE.match(key):
            raise ConfError(f"settings: key {raw_key!r} is not a plain setting name (letters, digits, '_', '.', '-')")
        if key in out:
            raise ConfError(f"settings: key {raw_key!r} is given twice (keys are case-insensitive)")
        if value is None:
            raise ConfError(f"settings: {raw_key!r} has no value (use remove to delete a setting)")
        if isinstance(value, dict) or (
            isinstance(value, (list, tuple)) and any(isinstance(v, (dict, list, tuple)) for v in value)
        ):
            raise ConfError(
                f"settings: the value of {raw_key!r} is a {type(value).__name__} with nested values ({value!r}); "
                "give a string, number, boolean or a list of strings"
            )
        text = render_value(value)
        if "\n" in text or "\r" in text:
            raise ConfError(f"settings: the value of {raw_key!r} contains a newline")
        if configparser_errors(f"[s]\nk = {text}\n"):
            raise ConfError(
                f"settings: the value of {raw_key!r} ({text!r}) would not be readable by the extension "
                "(a single '%' must be written '%%')"
            )
        if key in NO_EFFECT_KEYS:
            raise ConfError(
                f"settings: {raw_key!r} has no effect: the extension reads it as a string and compares it with the "
                "Python booleans True/False (VMBackup/main/handle.py), so no value changes anything; remove it instead"
            )
        if key in BOOL_KEYS:
            if text.lower() not in ("true", "false"):
                raise ConfError(f"settings: {raw_key!r} is a boolean (True or False), got {text!r}")
            # the extension compares with 'True' / 'False' case-sensitively: 'true' would read as off
            text = "True" if text.lower() == "true" else "False"
        if key in INT_KEYS and not re.match(r"^-?[0-9]+$", text):
            raise ConfError(
                f"settings: {raw_key!r} must be a whole number (the extension reads it with int() and silently "
                f"uses its default {INT_KEYS[key]} otherwise), got {text!r}"
            )
        if key == "mountstoskip":
            items = _split_list(text)
            bad = [m for m in items if not m.startswith("/") or " " in m]
            if bad:
                raise ConfError(f"settings: mountstoskip needs absolute mount points without spaces, got {bad}")
            if "/" in items:
                raise ConfError(
                    "settings: mountstoskip cannot skip '/': the extension always freezes it (fsfreezer.py)"
                )
            slash = [m for m in items if m.endswith("/")]
            if slash:
                raise ConfError(
                    f"settings: mountstoskip entries are compared exactly with the mount points, so {slash} never "
                    f"match; write them without the trailing '/'"
                )
            text = ",".join(items)
        if key == "snapshotmethod" and text not in SNAPSHOT_METHODS:
            raise ConfError(f"settings: snapshotmethod must be one of {', '.join(SNAPSHOT_METHODS)}, got {text!r}")
        out[key] = text
    removed = []
    for raw_key in remove or ():
        key = str(raw_key).strip().lower()
        if key in out:
            raise ConfError(f"remove: {raw_key!r} is also in settings")
        if key and key not in removed:
            removed.append(key)
    return out, removed


def desired_settings(options: dict) -> tuple:
    """The settings the fix would make sure of: ``settings`` plus, with ``asr``, the doc's legacy key."""
    section = options.get("section") or DEFAULT_SECTION
    if section != DEFAULT_SECTION and section.lower() == DEFAULT_SECTION.lower():
        raise ConfError(
            f"section: {section!r} is never read: section names are case-sensitive and the extension reads "
            f"[{DEFAULT_SECTION}]"
        )
    settings, remove = validate_settings(options.get("settings") or {}, options.get("remove") or ())
    if options.get("asr") and "isanysnapshotfailed" not in settings:
        # the spelling the old extensions compared with (== 'False'); 'false' meant the opposite
        settings["isanysnapshotfailed"] = "False"
    return settings, remove


def _merge_duplicate(dup: dict, wanted: dict) -> str:
    """The one value for a duplicated key, or raise ConfError when it cannot be decided."""
    key = dup["key"]
    if key in wanted:
        return wanted[key]
    if key in LIST_KEYS:
        merged = []
        for value in dup["values"]:
            for item in _split_list(value):
                if item not in merged:
                    merged.append(item)
        return ",".join(merged)
    distinct = []
    for value in dup["values"]:
        if value not in distinct:
            distinct.append(value)
    if len(distinct) == 1:
        return distinct[0]
    raise ConfError(
        f"[{dup['section']}] {key!r} is set {len(dup['values'])} times with different values "
        f"({', '.join(f'line {ln}: {v!r}' for ln, v in zip(dup['lines'], dup['values'], strict=True))}); "
        f"the extension ignores the whole file. Say which value to keep with settings: {{{key}: ...}}"
    )


def plan_conf(
    text: str | None, section: str = DEFAULT_SECTION, settings: dict | None = None, remove: list | tuple = ()
) -> tuple:
    """The new file text for ``text`` (None: the file does not exist) and the list of changes.

    ``settings`` / ``remove`` as returned by ``validate_settings``. Lines other than the keys touched
    are kept as they are (comments, other sections, order). Every key we write is lowercase with
    ``key = value``; duplicated keys anywhere in the file are merged into one lowercase key.
    Raises ConfError (nothing to write) when the file has lines ``ConfigParser`` refuses or a
    section twice: the operator must look at it.
    """
    settings = {str(k).strip().lower(): v for k, v in (settings or {}).items()}
    remove = [str(k).strip().lower() for k in (remove or ())]
    if text is None:
        text = ""
    parsed = parse_conf(text)
    if parsed["errors"]:
        where = "; ".join(f"line {e['line']}: {e['error']}: {e['text'].strip()!r}" for e in parsed["errors"][:5])
        raise ConfError(f"the file does not parse ({where}); the extension ignores it. Nothing was written")
    if parsed["duplicate_sections"]:
        where = "; ".join(f"[{d['name']}] at lines {d['lines']}" for d in parsed["duplicate_sections"])
        raise ConfError(
            f"a section appears more than once ({where}); the extension ignores the file. Nothing was written"
        )

    # each line with its own ending: untouched lines keep their bytes (CRLF stays CRLF); the
    # universal newlines of the extension's ConfigParser decide where lines end, as in parse_conf
    pairs = split_keepends(text, universal=True)
    lines = [line for line, _ending in pairs]
    eol = dominant_ending(pairs)
    replace = {}  # line number -> new text (None: delete the span)
    merged = {}  # (section, key) -> value of merged duplicates
    spans = {}
    changes = []
    for sec in parsed["sections"]:
        by_key = {}
        for entry in sec["entries"]:
            by_key.setdefault(entry["key"], []).append(entry)
            spans[entry["line"]] = entry["end"]
        wanted_here = settings if sec["name"] == section else {}
        # ConfigParser's has_option/get see [DEFAULT] keys in every section: a removal removes them there too
        removed_here = remove if sec["name"] in (section, "DEFAULT") else []
        for key, entries in by_key.items():
            first, rest = entries[0], entries[1:]
            if key in removed_here:
                for entry in entries:
                    replace[entry["line"]] = None
                changes.append(
                    f"[{sec['name']}] remove {key}"
                    + (
                        f" (a [DEFAULT] key: it applied to every section, not only [{section}])"
                        if sec["name"] == "DEFAULT"
                        else ""
                    )
                )
                continue
            if rest:
                dup = {
                    "section": sec["name"],
                    "key": key,
                    "lines": [e["line"] for e in entries],
                    "values": [e["value"] for e in entries],
                }
                value = _merge_duplicate(dup, wanted_here)
                merged[(sec["name"], key)] = value
                replace[first["line"]] = f"{key} = {value}"
                for entry in rest:
                    replace[entry["line"]] = None
                changes.append(
                    f"[{sec['name']}] merge {', '.join(e['raw_key'] for e in entries)} (lines "
                    f"{', '.join(str(e['line']) for e in entries)}) into {key} = {value}"
                )
                continue
            if key in wanted_here:
                value = wanted_here[key]
                # keys are case-insensitive for the extension: a right value under 'WriteLog' is left alone
                if first["value"] != value or first["end"] != first["line"]:
                    replace[first["line"]] = f"{key} = {value}"
                    what = "set" if first["value"] != value else "rewrite on one line"
                    changes.append(
                        f"[{sec['name']}] {what} {key} = {value} (was {first['raw_key']} = {first['value']})"
                    )

    out = []  # [line, ending]
    skip_until = 0
    for number, (line, ending) in enumerate(pairs, start=1):
        if number <= skip_until:
            continue
        if number in replace:
            skip_until = spans.get(number, number)
            if replace[number] is not None:
                out.append([replace[number], ending or eol])
            continue
        out.append([line, ending])

    present = set()
    target = None
    for sec in parsed["sections"]:
        if sec["name"] == section:
            target = sec
            present |= {e["key"] for e in sec["entries"]}
    missing = [(k, v) for k, v in settings.items() if k not in present]
    if missing:
        new_lines = [[f"{k} = {v}", eol] for k, v in missing]
        if target is None:
            while out and not out[-1][0].strip():
                out.pop()
            if out:
                out.append(["", eol])
            out.append([f"[{section}]", eol])
            out.extend(new_lines)
            changes.append(f"add section [{section}]")
        else:
            # after the last entry (or the header) of the section
            last_line = max([target["line"]] + [e["end"] for e in target["entries"]])
            position = _new_position(lines, replace, spans, last_line)
            out[position:position] = new_lines
        changes.extend(f"[{section}] add {k} = {v}" for k, v in missing)
    for index in range(len(out) - 1):
        if not out[index][1]:  # a last line without ending that is no longer last
            out[index][1] = eol

    new_text = join_pairs(out) if changes else text
    if changes:
        own = {sec["name"]: {e["key"] for e in sec["entries"]} for sec in parsed["sections"]}
        from_default = [k for k in remove if k in own.get("DEFAULT", set())]
        _verify(text, new_text, section, settings, remove, merged, own, from_default)
    return new_text, changes


def _verify(
    old_text: str,
    new_text: str,
    section: str,
    settings: dict,
    remove: list,
    merged: dict,
    own: dict | None = None,
    from_default: list | tuple = (),
) -> None:
    """Refuse a plan whose result the extension would read differently from what we meant (defence in depth)."""
    try:
        expected = raw_settings(old_text, strict=False)
    except configparser.Error as exc:  # pragma: no cover - parse_conf refused it already
        raise ConfError(f"the file does not parse: {exc}") from None
    for sec, values in expected.items():
        for key in from_default:
            if key not in (own or {}).get(sec, set()):
                values.pop(key, None)
    for (sec, key), value in merged.items():
        expected.setdefault(sec, {})[key] = value
    target = expected.setdefault(section, {})
    for key in remove:
        target.pop(key, None)
    target.update(settings)
    try:
        got = raw_settings(new_text)
    except configparser.Error as exc:
        raise ConfError(f"the edited file would not parse ({exc}); nothing was written") from None
    if got != expected:
        raise ConfError(
            "the file's layout (indentation) does not allow a safe line edit: the result would read "
            f"{got!r} instead of {expected!r}; nothing was written"
        )


def _new_position(lines: list, replace: dict, spans: dict, last_line: int) -> int:
    """Index in the output list right after original line ``last_line`` (replacements accounted for)."""
    count = 0
    skip_until = 0
    for number in range(1, len(lines) + 1):
        if number <= skip_until:
            continue
        if number in replace:
            skip_until = spans.get(number, number)
            if replace[number] is not None:
                count += 1
        else:
            count += 1
        if max(number, skip_until) >= last_line:
            return count
    return count


# ---------------------------------------------------------------------------------------------
# VMSnapshotPluginHost.conf: root-owned, group/other may at most read (field-notes section 1)


def plugin_host_conf_problems(info: dict) -> list:
    """Problems of ``/etc/azure/VMSnapshotPluginHost.conf`` from ``{exists, uid, mode}`` (empty: fine)."""
    if not info or not info.get("exists"):
        return []
    problems = []
    if info.get("uid") not in (0, None):
        problems.append(f"owned by uid {info['uid']}, not root")
    mode = info.get("mode")
    if mode is not None:
        group, other = (mode >> 3) & 7, mode & 7
        if group not in (0, 4) or other not in (0, 4):
            problems.append(f"mode {mode:04o}: group and others may at most read (group/other digit 0 or 4)")
    return problems


def plugin_host_conf_fixed_mode(mode: int) -> int:
    """``mode`` with the write and execute bits of group and others removed."""
    return stat.S_IMODE(mode) & ~0o033


# ---------------------------------------------------------------------------------------------
# gather (remote side) and the evaluator


def read_conf_facts(path: str = DEFAULT_PATH, plugin_host_path: str = PLUGIN_HOST_CONF) -> dict:
    """What the evaluator needs: the file text and the plugin host config's owner and mode. Never raises."""
    import os

    facts = {"path": path, "exists": False, "content": None, "error": None}
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        facts["exists"] = True
        try:
            facts["content"] = data.decode("utf-8")
        except UnicodeDecodeError:
            facts["content"] = data.decode("latin-1")
            facts["error"] = f"{path} is not UTF-8 text"
    except FileNotFoundError:
        pass
    except OSError as exc:
        facts["error"] = f"cannot read {path}: {exc.strerror or exc}"
    host = {"path": plugin_host_path, "exists": False, "uid": None, "gid": None, "mode": None}
    try:
        st = os.stat(plugin_host_path)
        host.update(exists=True, uid=st.st_uid, gid=st.st_gid, mode=stat.S_IMODE(st.st_mode))
    except FileNotFoundError:
        pass
    except OSError as exc:
        host["error"] = f"cannot stat {plugin_host_path}: {exc.strerror or exc}"
    facts["plugin_host_conf"] = host
    return facts


CONTROL_PLANE_NOTE = (
    "control plane, report only: count the snapshot blobs of each disk (the limit is per blob) and delete only"
    " non-essential snapshot blobs, never a disk blob; lower the storage account's soft-delete retention; with"
    " Azure Site Recovery, schedule ASR apart from the backup"
)


def evaluate_vmbackup_conf(facts: dict, options: dict | None = None) -> dict:
    """The ExtensionFailedSnapshotLimitReachedError finding for the guest side.

    ``facts``: ``ansible_facts.vmbackup_linux`` (key ``vmbackup_conf``) or that dict itself.
    ``options``: ``path``, ``section`` (default SnapshotThread), ``settings`` (dict), ``remove`` (list),
    ``asr`` (bool: the VM is protected by Azure Site Recovery; adds the doc's legacy
    ``isanysnapshotfailed = false``), ``fix_plugin_host_conf`` (bool, default true).
    Fails when the extension would ignore the file (parse errors, duplicate keys or sections), when a
    wanted setting differs, or when VMSnapshotPluginHost.conf has the wrong owner or mode.
    """
    options = options or {}
    conf = facts.get("vmbackup_conf", facts) if isinstance(facts, dict) else None
    if not isinstance(conf, dict) or "exists" not in conf:
        return make_finding(ERROR_CODE, "error", "the gathered facts have no vmbackup_conf section", "", [])
    section = options.get("section") or DEFAULT_SECTION
    path = conf.get("path") or options.get("path") or DEFAULT_PATH
    try:
        settings, remove = desired_settings(options)
    except ConfError as exc:
        return make_finding(ERROR_CODE, "error", f"bad options: {exc}", "", [])
    if conf.get("error") and conf.get("content") is None:
        return make_finding(ERROR_CODE, "error", conf["error"], "", [])

    details, fixes, actions, notes = [], [], [], []
    text = conf.get("content") if conf.get("exists") else None
    if text is not None:
        parsed = parse_conf(text)
        file_errors, key_errors = configparser_problems(text)
        if file_errors:
            details.append(f"{path} is ignored by the extension (it swallows the parse error): {file_errors[0]}")
        for (sec, key), message in sorted(key_errors.items()):
            # read key by key (HandlerUtil.get_value_from_configfile): only this value is lost
            where = details if sec in (section, "DEFAULT") else notes
            where.append(f"[{sec}] {key} cannot be read by the extension (only that setting is ignored): {message}")
        notes.extend(reading_notes(text, section))
        for key in LEGACY_KEYS:
            if key in settings_of(parsed, section) and key not in settings:
                notes.append(f"{key} is set but ignored by extensions since 2019-01-29 (legacy)")
        known = set(KNOWN_KEYS.get(section, ())) | set(LEGACY_KEYS)
        unknown = sorted(k for k in settings_of(parsed, section) if known and k not in known)
        if unknown and section in KNOWN_KEYS:
            notes.append(f"keys the current extension does not read in [{section}]: {', '.join(unknown)}")
    try:
        new_text, changes = plan_conf(text, section, settings, remove)
    except ConfError as exc:
        if not details:
            details.append(f"{path}: {exc}")
        actions.append({"action": "edit_vmbackup_conf", "path": path, "allowed": False, "disruptive": False})
        fixes.append(f"none possible automatically: {exc}")
        new_text, changes = None, []
    if changes and (text is not None or settings):
        actions.append(
            {
                "action": "edit_vmbackup_conf",
                "path": path,
                "changes": changes,
                "allowed": True,
                "disruptive": False,
            }
        )
        if not details:
            details.append(f"{path}: " + "; ".join(changes) + " needed")
        fixes.append(f"edit {path} (backup kept): " + "; ".join(changes))
    if "isanysnapshotfailed" in settings:
        notes.append(
            "isanysnapshotfailed is legacy only: extensions read it only from 2018-10-09 to 2019-01-29 "
            "(Azure/azure-linux-extensions commits c4a5214a .. 6cbd95fd, compared with == 'False'), so it does not "
            "help with the snapshot limit on a current extension"
        )

    host = conf.get("plugin_host_conf") or {}
    host_problems = plugin_host_conf_problems(host)
    if host_problems:
        details.append(f"{host.get('path') or PLUGIN_HOST_CONF}: " + "; ".join(host_problems))
        allowed = bool(options.get("fix_plugin_host_conf", True))
        actions.append(
            {
                "action": "fix_plugin_host_conf",
                "path": host.get("path") or PLUGIN_HOST_CONF,
                "problems": host_problems,
                "allowed": allowed,
                "disruptive": False,
            }
        )
        if allowed:
            fixes.append(f"chown root and chmod go-wx {host.get('path') or PLUGIN_HOST_CONF}")
        else:
            fixes.append(f"would not touch {host.get('path')}: fix_plugin_host_conf is false")

    failing = bool(details) or any(a for a in actions)
    status = "fail" if failing else "pass"
    if status == "pass":
        if text is None:
            detail = f"no {path}: the extension uses its defaults"
        else:
            detail = f"{path} parses as the extension reads it" + (
                f"; [{section}] " + ", ".join(f"{k} = {v}" for k, v in settings.items()) if settings else ""
            )
    else:
        detail = "; ".join(details)
    if notes:
        detail += "; " + "; ".join(notes)
    fix = "; ".join(fixes)
    fix = (fix + "; " if fix else "") + CONTROL_PLANE_NOTE if status == "fail" else fix
    finding = make_finding(ERROR_CODE, status, detail, fix, actions)
    finding["new_content"] = new_text
    return finding
