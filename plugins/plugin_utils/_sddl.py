# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Security descriptors in SDDL: parse, compare, serialize (internal, pure Python).

SDDL as ``Get-Acl ... | Select-Object Sddl`` prints it (Microsoft "Security Descriptor String
Format" / "ACE Strings"): ``O:<sid>G:<sid>D:<flags>(<ace>)(<ace>)...S:<flags>(<ace>)...``,
an ACE being ``type;flags;rights;object_guid;inherit_object_guid;sid[;resource_attribute]``.
Rights are a hex/decimal number or concatenated two-letter codes (``FA``, ``CCDCLC...``); SIDs
are ``S-1-...`` strings or two-letter aliases (``WD`` = Everyone, ``BA`` = Administrators).

Used by the MachineKeys fix (``_machinekeys.py``) and by the Windows simulator's ACL module
emulations. Nothing here runs on Windows; it only reads text the probe returned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

# --------------------------------------------------------------------------- well-known SIDs

# alias -> SID (the aliases Windows prints in SDDL; "Well-known SIDs" / sddl.h)
SID_ALIASES = {
    "AN": "S-1-5-7",
    "AO": "S-1-5-32-548",
    "AU": "S-1-5-11",
    "BA": "S-1-5-32-544",
    "BG": "S-1-5-32-546",
    "BO": "S-1-5-32-551",
    "BU": "S-1-5-32-545",
    "CG": "S-1-3-1",
    "CO": "S-1-3-0",
    "IU": "S-1-5-4",
    "LS": "S-1-5-19",
    "NS": "S-1-5-20",
    "NU": "S-1-5-2",
    "PS": "S-1-5-10",
    "PU": "S-1-5-32-547",
    "RC": "S-1-5-12",
    "RD": "S-1-5-32-555",
    "RU": "S-1-5-32-554",
    "SO": "S-1-5-32-549",
    "SU": "S-1-5-6",
    "SY": "S-1-5-18",
    "WD": "S-1-1-0",
    "AC": "S-1-15-2-1",
}
ALIAS_OF_SID = {sid: alias for alias, sid in SID_ALIASES.items()}

# SID -> English account names Windows accepts (case-insensitive), first = the NTAccount name.
# Localized Windows translates some of these names (Everyone = "Jeder" on de-DE): the fixes pass
# SIDs to the modules, never names, so they work in every display language.
WELL_KNOWN_ACCOUNTS = {
    "S-1-1-0": ("Everyone",),
    "S-1-3-0": ("CREATOR OWNER",),
    "S-1-3-1": ("CREATOR GROUP",),
    "S-1-5-2": ("NT AUTHORITY\\NETWORK",),
    "S-1-5-4": ("NT AUTHORITY\\INTERACTIVE",),
    "S-1-5-6": ("NT AUTHORITY\\SERVICE",),
    "S-1-5-7": ("NT AUTHORITY\\ANONYMOUS LOGON",),
    "S-1-5-11": ("NT AUTHORITY\\Authenticated Users",),
    "S-1-5-18": ("NT AUTHORITY\\SYSTEM", "SYSTEM", "LocalSystem", ".\\LocalSystem"),
    "S-1-5-19": ("NT AUTHORITY\\LOCAL SERVICE", "NT AUTHORITY\\LocalService", "LocalService", "LOCAL SERVICE"),
    "S-1-5-20": ("NT AUTHORITY\\NETWORK SERVICE", "NT AUTHORITY\\NetworkService", "NetworkService", "NETWORK SERVICE"),
    "S-1-5-32-544": ("BUILTIN\\Administrators", "Administrators"),
    "S-1-5-32-545": ("BUILTIN\\Users", "Users"),
    "S-1-5-32-546": ("BUILTIN\\Guests", "Guests"),
    "S-1-5-32-547": ("BUILTIN\\Power Users", "Power Users"),
    "S-1-5-32-551": ("BUILTIN\\Backup Operators", "Backup Operators"),
    "S-1-15-2-1": ("APPLICATION PACKAGE AUTHORITY\\ALL APPLICATION PACKAGES", "ALL APPLICATION PACKAGES"),
}
_SID_OF_NAME = {name.lower(): sid for sid, names in WELL_KNOWN_ACCOUNTS.items() for name in names}

_SID_RE = re.compile(r"^S-1-[0-9]+(?:-[0-9]+)+$", re.IGNORECASE)


def is_sid(text) -> bool:
    return isinstance(text, str) and bool(_SID_RE.match(text.strip()))


def account_sid(name) -> str | None:
    """SID of a SID string, an SDDL alias or a well-known English account name; None when unknown."""
    if not isinstance(name, str) or not name.strip():
        return None
    text = name.strip()
    if is_sid(text):
        return text.upper()
    if text.upper() in SID_ALIASES and len(text) == 2:
        return SID_ALIASES[text.upper()]
    return _SID_OF_NAME.get(text.lower())


def account_name(sid: str) -> str:
    """The English NTAccount name of a well-known SID, else the SID itself."""
    names = WELL_KNOWN_ACCOUNTS.get(sid)
    return names[0] if names else sid


def same_account(a, b) -> bool:
    """Two account spellings name the same account (SID-aware, case-insensitive)."""
    sa, sb = account_sid(a), account_sid(b)
    if sa and sb:
        return sa == sb
    return str(a or "").strip().lower() == str(b or "").strip().lower()


# --------------------------------------------------------------------------- access masks

# two-letter right codes -> bits (ACE strings). File and registry "all/read/write/execute" codes
# stand for fixed masks; the others are single bits.
RIGHT_CODES = {
    "GA": 0x10000000,
    "GX": 0x20000000,
    "GW": 0x40000000,
    "GR": 0x80000000,
    "RC": 0x00020000,
    "SD": 0x00010000,
    "WD": 0x00040000,
    "WO": 0x00080000,
    "RP": 0x00000010,
    "WP": 0x00000020,
    "CC": 0x00000001,
    "DC": 0x00000002,
    "LC": 0x00000004,
    "SW": 0x00000008,
    "LO": 0x00000080,
    "DT": 0x00000040,
    "CR": 0x00000100,
    "FA": 0x001F01FF,
    "FR": 0x00120089,
    "FW": 0x00120116,
    "FX": 0x001200A0,
    "KA": 0x000F003F,
    "KR": 0x00020019,
    "KW": 0x00020006,
    "KX": 0x00020019,
}
_COMBINED = ("FA", "FR", "FW", "FX")  # printed for an exact file mask
# order as Windows prints them, e.g. "CCDCLCSWRPWPDTLOCRSDRCWDWO"
_BIT_CODES = ("GA", "GR", "GW", "GX", "CC", "DC", "LC", "SW", "RP", "WP", "DT", "LO", "CR", "SD", "RC", "WD", "WO")

# System.Security.AccessControl.FileSystemRights: single bits (directory names) and composites.
FILE_RIGHT_BITS = (
    ("ListDirectory", 0x1),
    ("CreateFiles", 0x2),
    ("CreateDirectories", 0x4),
    ("ReadExtendedAttributes", 0x8),
    ("WriteExtendedAttributes", 0x10),
    ("Traverse", 0x20),
    ("DeleteSubdirectoriesAndFiles", 0x40),
    ("ReadAttributes", 0x80),
    ("WriteAttributes", 0x100),
    ("Delete", 0x10000),
    ("ReadPermissions", 0x20000),
    ("ChangePermissions", 0x40000),
    ("TakeOwnership", 0x80000),
    ("Synchronize", 0x100000),
)
FILE_RIGHT_NAMES = {name.lower(): bit for name, bit in FILE_RIGHT_BITS} | {
    "readdata": 0x1,
    "writedata": 0x2,
    "appenddata": 0x4,
    "executefile": 0x20,
    "read": 0x20089,
    "write": 0x116,
    "readandexecute": 0x200A9,
    "modify": 0x301BF,
    "fullcontrol": 0x1F01FF,
}
FULL_CONTROL = 0x1F01FF
SYNCHRONIZE = 0x100000
FILE_RIGHTS_MASK = FULL_CONTROL  # every bit FileSystemRights names

# ACE flags (two-letter codes) in the order Windows prints them
ACE_FLAG_CODES = ("OI", "CI", "NP", "IO", "ID", "SA", "FA", "TP", "CR")
DACL_FLAG_CODES = ("P", "AI", "AR", "NO_ACCESS_CONTROL")


class SddlError(ValueError):
    """Text that is not a security descriptor in SDDL."""


@dataclass(frozen=True)
class Ace:
    type: str  # A (allow), D (deny), or another ACE type code (OA, OD, XA, ...)
    flags: frozenset
    mask: int
    sid: str  # S-1-... (aliases resolved)
    object_guid: str = ""
    inherit_object_guid: str = ""
    extra: str = ""  # resource attribute, kept verbatim

    @property
    def inherited(self) -> bool:
        return "ID" in self.flags


@dataclass(frozen=True)
class SecurityDescriptor:
    owner: str | None = None
    group: str | None = None
    dacl_flags: frozenset = frozenset()
    dacl: tuple | None = None  # None: no DACL part in the text
    sacl_flags: frozenset = frozenset()
    sacl: tuple | None = None
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def protected(self) -> bool:
        return "P" in self.dacl_flags


# --------------------------------------------------------------------------- parsing


def _parse_sid(text: str, where: str) -> str:
    text = text.strip()
    if len(text) == 2 and text.upper() in SID_ALIASES:
        return SID_ALIASES[text.upper()]
    if is_sid(text):
        return text.upper()
    raise SddlError(f"{where}: not a SID or SID alias: {text!r}")


def parse_mask(text: str, where: str = "rights") -> int:
    text = text.strip()
    if not text:
        raise SddlError(f"{where}: empty rights")
    if re.fullmatch(r"0[xX][0-9A-Fa-f]{1,8}", text):
        return int(text, 16)
    if re.fullmatch(r"[0-9]{1,10}", text):
        value = int(text, 10)
        if value > 0xFFFFFFFF:
            raise SddlError(f"{where}: rights out of range: {text}")
        return value
    if len(text) % 2:
        raise SddlError(f"{where}: rights codes come in pairs: {text!r}")
    mask = 0
    for i in range(0, len(text), 2):
        code = text[i : i + 2].upper()
        if code not in RIGHT_CODES:
            raise SddlError(f"{where}: unknown rights code {code!r}")
        mask |= RIGHT_CODES[code]
    return mask


def _parse_flags(text: str, codes, where: str) -> frozenset:
    flags = set()
    rest = text.strip().upper()
    while rest:
        for code in sorted(codes, key=len, reverse=True):
            if rest.startswith(code):
                flags.add(code)
                rest = rest[len(code) :]
                break
        else:
            raise SddlError(f"{where}: unknown flag in {text!r}")
    return frozenset(flags)


def _parse_ace(text: str, index: int) -> Ace:
    where = f"ACE {index + 1}"
    parts = text.split(";")
    if len(parts) not in (6, 7):
        raise SddlError(f"{where}: expected 6 fields separated by ';', got {len(parts)}: ({text})")
    ace_type = parts[0].strip().upper()
    if not re.fullmatch(r"[A-Z]{1,3}", ace_type):
        raise SddlError(f"{where}: bad ACE type {parts[0]!r}")
    return Ace(
        type=ace_type,
        flags=_parse_flags(parts[1], ACE_FLAG_CODES, where),
        mask=parse_mask(parts[2], where),
        object_guid=parts[3].strip().lower(),
        inherit_object_guid=parts[4].strip().lower(),
        sid=_parse_sid(parts[5], where),
        extra=parts[6] if len(parts) == 7 else "",
    )


def _parse_acl(text: str, name: str) -> tuple[frozenset, tuple]:
    head, paren, _rest = text.partition("(")
    flags = _parse_flags(head, DACL_FLAG_CODES, f"{name} flags")
    aces = []
    if paren:
        body = text[len(head) :]
        pos = 0
        while pos < len(body):
            if body[pos] != "(":
                raise SddlError(f"{name}: expected '(' at {body[pos : pos + 20]!r}")
            end = body.find(")", pos)
            if end < 0:
                raise SddlError(f"{name}: unclosed ACE")
            aces.append(_parse_ace(body[pos + 1 : end], len(aces)))
            pos = end + 1
    return flags, tuple(aces)


def parse_sddl(text) -> SecurityDescriptor:
    """Parse an SDDL string; raise :class:`SddlError` naming the problem."""
    if not isinstance(text, str) or not text.strip():
        raise SddlError("empty security descriptor")
    text = "".join(text.split())  # SDDL has no meaningful whitespace
    parts: dict[str, str] = {}
    # a part starts at 'X:' outside parentheses
    starts = []
    depth = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise SddlError("unbalanced ')'")
        elif depth == 0 and ch in "OGDS" and i + 1 < len(text) and text[i + 1] == ":":
            starts.append(i)
    if depth != 0:
        raise SddlError("unbalanced '('")
    if not starts or starts[0] != 0:
        raise SddlError(f"does not start with O:, G:, D: or S:: {text[:20]!r}")
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(text)
        key = text[start]
        if key in parts:
            raise SddlError(f"part {key}: appears twice")
        parts[key] = text[start + 2 : end]
    owner = _parse_sid(parts["O"], "owner") if "O" in parts else None
    group = _parse_sid(parts["G"], "group") if "G" in parts else None
    dacl_flags, dacl = _parse_acl(parts["D"], "DACL") if "D" in parts else (frozenset(), None)
    sacl_flags, sacl = _parse_acl(parts["S"], "SACL") if "S" in parts else (frozenset(), None)
    return SecurityDescriptor(owner, group, dacl_flags, dacl, sacl_flags, sacl)


# --------------------------------------------------------------------------- serializing


def format_sid(sid: str) -> str:
    return ALIAS_OF_SID.get(sid, sid)


def format_mask(mask: int) -> str:
    """As Windows prints rights: a combined code, two-letter codes, or hex when a bit has no code."""
    for code in _COMBINED:
        if mask == RIGHT_CODES[code]:
            return code
    rest = mask
    out = []
    for code in _BIT_CODES:
        if rest & RIGHT_CODES[code]:
            out.append(code)
            rest &= ~RIGHT_CODES[code]
    if rest or not out:
        return f"0x{mask:x}"
    return "".join(out)


def _format_flags(flags, codes) -> str:
    return "".join(code for code in codes if code in flags)


def format_ace(ace: Ace) -> str:
    fields_ = [
        ace.type,
        _format_flags(ace.flags, ACE_FLAG_CODES),
        format_mask(ace.mask),
        ace.object_guid,
        ace.inherit_object_guid,
        format_sid(ace.sid),
    ]
    if ace.extra:
        fields_.append(ace.extra)
    return "(" + ";".join(fields_) + ")"


def format_sddl(sd: SecurityDescriptor) -> str:
    out = []
    if sd.owner:
        out.append("O:" + format_sid(sd.owner))
    if sd.group:
        out.append("G:" + format_sid(sd.group))
    if sd.dacl is not None:
        out.append("D:" + _format_flags(sd.dacl_flags, DACL_FLAG_CODES) + "".join(format_ace(a) for a in sd.dacl))
    if sd.sacl is not None:
        out.append("S:" + _format_flags(sd.sacl_flags, DACL_FLAG_CODES) + "".join(format_ace(a) for a in sd.sacl))
    return "".join(out)


def canonical_order(aces) -> tuple:
    """Windows' canonical DACL order: explicit deny, explicit allow, then inherited (kept in order)."""
    aces = list(aces)
    explicit_deny = [a for a in aces if not a.inherited and a.type == "D"]
    explicit_other = [a for a in aces if not a.inherited and a.type != "D"]
    inherited = [a for a in aces if a.inherited]
    return tuple(explicit_deny + explicit_other + inherited)


def with_dacl(sd: SecurityDescriptor, aces, flags=None) -> SecurityDescriptor:
    return replace(sd, dacl=tuple(aces), dacl_flags=sd.dacl_flags if flags is None else frozenset(flags))


# --------------------------------------------------------------------------- human text


def file_rights_names(mask: int) -> str | None:
    """FileSystemRights names for ``mask`` (``FullControl`` or comma-joined bits), None if a bit has no name."""
    if mask == FULL_CONTROL:
        return "FullControl"
    if mask & ~FILE_RIGHTS_MASK or not mask:
        return None
    return ",".join(name for name, bit in FILE_RIGHT_BITS if mask & bit)


def parse_file_rights(text: str) -> int:
    """``[FileSystemRights]"<text>"``: comma-separated names (case-insensitive) or a number."""
    text = str(text).strip()
    if re.fullmatch(r"[0-9]+", text):
        value = int(text)
        if value & ~FILE_RIGHTS_MASK:
            raise ValueError(f"{text} is not a combination of FileSystemRights values")
        return value
    mask = 0
    for part in text.split(","):
        name = part.strip().lower()
        if name not in FILE_RIGHT_NAMES:
            raise ValueError(f"'{part.strip()}' is not a FileSystemRights value")
        mask |= FILE_RIGHT_NAMES[name]
    return mask


def describe_ace(ace: Ace) -> str:
    """``allow Everyone 0x12019f (no inheritance)`` style text for reports."""
    kind = {"A": "allow", "D": "deny"}.get(ace.type, f"type {ace.type}")
    flags = _format_flags(ace.flags, ACE_FLAG_CODES)
    inherit = f"flags {flags}" if flags else "no inheritance"
    return f"{kind} {account_name(ace.sid)} {format_mask(ace.mask)} ({inherit})"
