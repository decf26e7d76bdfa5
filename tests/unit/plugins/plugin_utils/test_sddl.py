"""SDDL parser/serializer: known descriptors, round trips (hypothesis), untrusted text never crashes."""

from __future__ import annotations

import pytest
from ansible_collections.vmbackup.azure.plugins.plugin_utils._sddl import (
    ACE_FLAG_CODES,
    ALIAS_OF_SID,
    Ace,
    SddlError,
    SecurityDescriptor,
    account_sid,
    canonical_order,
    file_rights_names,
    format_mask,
    format_sddl,
    parse_file_rights,
    parse_mask,
    parse_sddl,
    same_account,
)
from hypothesis import given, settings
from hypothesis import strategies as st

DEFAULT = "O:SYG:SYD:PAI(A;;0x12019f;;;WD)(A;;FA;;;BA)"


def test_default_machinekeys_descriptor():
    sd = parse_sddl(DEFAULT)
    assert sd.owner == sd.group == "S-1-5-18"
    assert sd.protected and sd.dacl_flags == {"P", "AI"}
    assert sd.dacl == (
        Ace("A", frozenset(), 0x12019F, "S-1-1-0"),
        Ace("A", frozenset(), 0x1F01FF, "S-1-5-32-544"),
    )
    assert format_sddl(sd) == DEFAULT


def test_inherited_entries_codes_and_sids():
    text = (
        "O:S-1-5-21-1-2-3-500G:SYD:AI(A;OICIID;FA;;;SY)(A;OICIIOID;GA;;;CO)(A;CIID;DCLCRPCR;;;BU)"
        "(D;;WDWO;;;S-1-5-21-1-2-3-1001)"
    )
    sd = parse_sddl(text)
    assert sd.owner == "S-1-5-21-1-2-3-500" and not sd.protected
    assert [a.inherited for a in sd.dacl] == [True, True, True, False]
    assert sd.dacl[2].mask == 0x2 | 0x4 | 0x10 | 0x100
    assert sd.dacl[3].type == "D" and sd.dacl[3].mask == 0x40000 | 0x80000
    # Windows prints the single-bit codes in its own order
    assert format_sddl(sd) == (
        "O:S-1-5-21-1-2-3-500G:SYD:AI(A;OICIID;FA;;;SY)(A;OICIIOID;GA;;;CO)(A;CIID;DCLCRPCR;;;BU)"
        "(D;;WDWO;;;S-1-5-21-1-2-3-1001)"
    )


def test_whitespace_and_lowercase_hex_are_accepted():
    assert parse_sddl(" O:SY G:SY D:PAI (A;;0X12019F;;;wd) ") == parse_sddl(DEFAULT.replace("(A;;FA;;;BA)", ""))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("X:SY", "does not start"),
        ("O:SYO:SY", "appears twice"),
        ("O:QQ", "not a SID"),
        ("D:(A;;FA;;WD)", "6 fields"),
        ("D:(A;;ZZ;;;WD)", "unknown rights code"),
        ("D:(A;;F;;;WD)", "in pairs"),
        ("D:(A;XX;FA;;;WD)", "unknown flag"),
        ("D:(A;;FA;;;WD", "unbalanced"),
        ("D:PAI)(", "unbalanced"),
        ("D:QQ(A;;FA;;;WD)", "unknown flag"),
        ("D:(A;;0x1FFFFFFFF;;;WD)", "unknown rights code|in pairs"),
    ],
)
def test_bad_text_raises_sddl_error(text, match):
    with pytest.raises(SddlError, match=match):
        parse_sddl(text)


def test_format_mask():
    assert format_mask(0x1F01FF) == "FA"
    assert format_mask(0x120089) == "FR"
    assert format_mask(0x12019F) == "0x12019f"  # Synchronize has no two-letter code
    assert format_mask(0x10000000) == "GA"
    assert parse_mask(format_mask(0x3)) == 0x3


def test_file_rights_names_round_trip_and_composites():
    assert file_rights_names(0x1F01FF) == "FullControl"
    names = file_rights_names(0x12019F)
    assert names.split(",") == [
        "ListDirectory",
        "CreateFiles",
        "CreateDirectories",
        "ReadExtendedAttributes",
        "WriteExtendedAttributes",
        "ReadAttributes",
        "WriteAttributes",
        "ReadPermissions",
        "Synchronize",
    ]
    assert parse_file_rights(names) == 0x12019F
    assert file_rights_names(0x10000000) is None  # generic rights: no FileSystemRights name
    assert parse_file_rights("Read, Write") == 0x20089 | 0x116
    assert parse_file_rights("ReadAndExecute,Synchronize") == 0x1200A9
    with pytest.raises(ValueError, match="Bogus"):
        parse_file_rights("Read,Bogus")


def test_accounts():
    assert account_sid("Everyone") == account_sid("WD") == account_sid("s-1-1-0") == "S-1-1-0"
    assert account_sid("NT AUTHORITY\\NetworkService") == account_sid("network service") == "S-1-5-20"
    assert account_sid("CONTOSO\\svc-sql") is None
    assert same_account("NT AUTHORITY\\NETWORK SERVICE", "S-1-5-20")
    assert not same_account("LocalSystem", "S-1-5-20")
    assert same_account("CONTOSO\\x", "contoso\\X")


def test_canonical_order_puts_explicit_deny_first_and_inherited_last():
    allow = Ace("A", frozenset(), 1, "S-1-1-0")
    deny = Ace("D", frozenset(), 1, "S-1-5-32-545")
    inherited = Ace("A", frozenset({"ID"}), 1, "S-1-5-18")
    assert canonical_order([inherited, allow, deny]) == (deny, allow, inherited)


# ----------------------------------------------------------------------------- properties

_SIDS = st.one_of(
    st.sampled_from(sorted(ALIAS_OF_SID)),
    st.builds(
        lambda parts: "S-1-5-21-" + "-".join(str(p) for p in parts),
        st.lists(st.integers(min_value=0, max_value=4294967295), min_size=1, max_size=5),
    ),
)
_ACES = st.builds(
    Ace,
    type=st.sampled_from(["A", "D", "AU"]),
    flags=st.frozensets(st.sampled_from(ACE_FLAG_CODES[:5])),
    mask=st.integers(min_value=0, max_value=0xFFFFFFFF),
    sid=_SIDS,
)
_DESCRIPTORS = st.builds(
    SecurityDescriptor,
    owner=st.one_of(st.none(), _SIDS),
    group=st.one_of(st.none(), _SIDS),
    dacl_flags=st.frozensets(st.sampled_from(["P", "AI", "AR"])),
    dacl=st.one_of(st.none(), st.lists(_ACES, max_size=6).map(tuple)),
)


@settings(max_examples=300, deadline=None)
@given(_DESCRIPTORS)
def test_format_then_parse_is_identity(sd):
    if sd.dacl is None:
        sd = SecurityDescriptor(sd.owner, sd.group, frozenset(), None)
    if sd.owner is None and sd.group is None and sd.dacl is None:
        return  # an empty descriptor has no text
    assert parse_sddl(format_sddl(sd)) == sd


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="OGDSPAI:();0x12FWCDLRSYBA-15 \u00e9", max_size=60))
def test_untrusted_text_only_raises_sddl_error(text):
    try:
        sd = parse_sddl(text)
    except SddlError:
        return
    # whatever parses must print and parse back to itself
    assert parse_sddl(format_sddl(sd)) == sd


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=0x1F01FF).filter(lambda m: not m & ~0x1F01FF))
def test_file_rights_names_cover_every_named_mask(mask):
    names = file_rights_names(mask)
    assert names is not None and parse_file_rights(names) == mask
