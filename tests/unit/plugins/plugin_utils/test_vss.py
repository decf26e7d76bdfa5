"""Unit tests for plugin_utils/_vss.py: parser, writer -> service map, plan, finding."""

from __future__ import annotations

import re
import string

import pytest
from ansible_collections.vmbackup.azure.plugins.plugin_utils._vss import (
    WRITER_SERVICES,
    VssParseError,
    default_allowed_services,
    evaluate_vss,
    lookup_service,
    normalize_extra_map,
    parse_vss_writers,
    plan_vss,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BANNER = (
    "vssadmin 1.1 - Volume Shadow Copy Service administrative command-line tool\n"
    "(C) Copyright 2001-2013 Microsoft Corp.\n"
)

# field-notes section 3 (Nagios plugin vssaddmin.pl data section)
EN_US = (
    BANNER
    + """
Writer name: 'System Writer'
   Writer Id: {e8132975-6f93-4464-a53e-1050253ae220}
   Writer Instance Id: {eb6b4c30-aa48-486a-9618-0d1934d180ca}
   State: [1] Stable
   Last error: No error

Writer name: 'Microsoft Exchange Writer'
   Writer Id: {76fe1ac4-15f7-4bcd-987e-8e1acb462fb7}
   Writer Instance Id: {728c7e4c-d8fa-46cc-999d-e20573e08a08}
   State: [7] Failed
   Last error: Retryable error
"""
)

EXPECTED_EN = [
    {
        "name": "System Writer",
        "writer_id": "e8132975-6f93-4464-a53e-1050253ae220",
        "instance_id": "eb6b4c30-aa48-486a-9618-0d1934d180ca",
        "state": 1,
        "last_error": "No error",
    },
    {
        "name": "Microsoft Exchange Writer",
        "writer_id": "76fe1ac4-15f7-4bcd-987e-8e1acb462fb7",
        "instance_id": "728c7e4c-d8fa-46cc-999d-e20573e08a08",
        "state": 7,
        "last_error": "Retryable error",
    },
]

# Hand-written localized variants (approximate translations; only the structure matters).
FR_FR = (
    "\ufeffvssadmin 1.1 - Outil de ligne de commande d\u2019administration du service de cliché instantané\r\n"
    "(C) Copyright 2001-2013 Microsoft Corp.\r\n\r\n"
    "Attente des réponses. Elles peuvent être retardées si un cliché instantané est en cours.\r\n\r\n"
    "Nom de l\u2019enregistreur : \u2018System Writer\u2019\r\n"
    "   Id de l\u2019enregistreur : {E8132975-6F93-4464-A53E-1050253AE220}\r\n"
    "   Id de l\u2019instance de l\u2019enregistreur : {EB6B4C30-AA48-486A-9618-0D1934D180CA}\r\n"
    "   État : [8] Échec\r\n"
    "   Dernière erreur : Délai d\u2019attente dépassé\r\n\r\n"
    "Nom de l'enregistreur : « WMI Writer »\r\n"
    "   Id de l'enregistreur : {a6ad56c2-b509-4e6c-bb19-49d8f43532f0}\r\n"
    "   Id de l'instance de l'enregistreur : {1ef5d3a5-4d9a-4b1d-9a5a-2f7d2b1a0c11}\r\n"
    "   État : [1] Stable\r\n"
    "   Dernière erreur : Aucune erreur\r\n"
)

ZH_TW = (
    "vssadmin 1.1 - 磁碟區陰影複製服務系統管理命令列工具\n"
    "(C) Copyright 2001-2013 Microsoft Corp.\n\n"
    "寫入程式名稱：'System Writer'\n"
    "   寫入程式識別碼：{e8132975-6f93-4464-a53e-1050253ae220}\n"
    "   寫入程式執行個體識別碼：{eb6b4c30-aa48-486a-9618-0d1934d180ca}\n"
    "   狀態：[10] 失敗\n"
    "   上次錯誤：逾時\n"
)

DE_DE = (
    "vssadmin 1.1 - Verwaltungsbefehlszeilenprogramm des Volumeschattenkopie-Dienstes\r\n"
    "(C) Copyright 2001-2013 Microsoft Corp.\r\n\r\n"
    'Verfassername: "Registry Writer"\r\n'
    "   Verfasserkennung: {afbab4a2-367d-4d15-a586-71dbb18f8485}\r\n"
    "   Verfasserinstanzkennung: {7a3f1c38-5b1e-4c7a-9d2e-3f4a5b6c7d8e}\r\n"
    "   Status: [11] Fehler\r\n"
    "   Letzter Fehler: Wiederholbarer Fehler\r\n"
)


def writer(name, writer_id, state=1, last_error="No error", instance_id="00000000-0000-0000-0000-000000000001"):
    return {"name": name, "writer_id": writer_id, "instance_id": instance_id, "state": state, "last_error": last_error}


def render(writers, sep=": ", newline="\n"):
    lines = BANNER.splitlines() + [""]
    for w in writers:
        lines += [
            f"Writer name{sep}'{w['name']}'",
            f"   Writer Id{sep}{{{w['writer_id']}}}",
            f"   Writer Instance Id{sep}{{{w['instance_id']}}}",
            f"   State{sep}[{w['state']}] Whatever",
            f"   Last error{sep}{w['last_error']}",
            "",
        ]
    return newline.join(lines)


def svc(name, state="running", dependents=()):
    return {"name": name, "state": state, "start_mode": "auto", "dependencies": [], "dependents": list(dependents)}


SYSTEM_ID = "e8132975-6f93-4464-a53e-1050253ae220"
WMI_ID = "a6ad56c2-b509-4e6c-bb19-49d8f43532f0"
REGISTRY_ID = "afbab4a2-367d-4d15-a586-71dbb18f8485"
ASR_ID = "be000cbe-11fe-4426-9c58-531aa6355fc4"
EXCHANGE_ID = "76fe1ac4-15f7-4bcd-987e-8e1acb462fb7"
HOST_SERVICES = [svc("CryptSvc"), svc("Winmgmt"), svc("VSS"), svc("MSExchangeIS"), svc("Schedule")]


# ------------------------------------------------------------------------- parser


def test_parse_en_us_sample_from_field_notes():
    assert parse_vss_writers(EN_US) == EXPECTED_EN


def test_parse_crlf_and_bom_same_result():
    assert parse_vss_writers("\ufeff" + EN_US.replace("\n", "\r\n")) == EXPECTED_EN


def test_parse_french_space_colon_typographic_quotes_and_apostrophes_in_labels():
    writers = parse_vss_writers(FR_FR)
    assert [w["name"] for w in writers] == ["System Writer", "WMI Writer"]
    assert writers[0]["writer_id"] == SYSTEM_ID  # lowercased
    assert writers[0]["instance_id"] == "eb6b4c30-aa48-486a-9618-0d1934d180ca"
    assert writers[0]["state"] == 8
    assert writers[0]["last_error"] == "Délai d\u2019attente dépassé"
    assert writers[1]["state"] == 1 and writers[1]["last_error"] == "Aucune erreur"


def test_parse_fullwidth_colon():
    (w,) = parse_vss_writers(ZH_TW)
    assert w["name"] == "System Writer" and w["state"] == 10 and w["last_error"] == "逾時"


def test_parse_double_quotes_german():
    (w,) = parse_vss_writers(DE_DE)
    assert w == {
        "name": "Registry Writer",
        "writer_id": REGISTRY_ID,
        "instance_id": "7a3f1c38-5b1e-4c7a-9d2e-3f4a5b6c7d8e",
        "state": 11,
        "last_error": "Wiederholbarer Fehler",
    }


@pytest.mark.parametrize("text", ["", "   \r\n", BANNER, BANNER + "\nWaiting for responses.\nThese may be delayed.\n"])
def test_empty_or_banner_only_gives_no_writers(text):
    assert parse_vss_writers(text) == []


def test_service_down_output_gives_no_writers():
    text = BANNER + "\nError: A Volume Shadow Copy Service component encountered an unexpected error.\n"
    assert parse_vss_writers(text) == []


def test_truncated_block_raises():
    truncated = EN_US.rsplit("   State", 1)[0]
    with pytest.raises(VssParseError, match="Microsoft Exchange Writer.*truncated"):
        parse_vss_writers(truncated)


def test_block_missing_state_raises():
    text = EN_US.replace("   State: [7] Failed\n", "")
    with pytest.raises(VssParseError, match="writer state"):
        parse_vss_writers(text)


def test_block_missing_guid_raises():
    text = EN_US.replace("   Writer Id: {e8132975-6f93-4464-a53e-1050253ae220}\n", "")
    with pytest.raises(VssParseError, match="System Writer"):
        parse_vss_writers(text)


def test_orphan_guid_raises():
    text = EN_US.replace("Writer name: 'System Writer'", "Writer name: System Writer")  # quotes lost
    with pytest.raises(VssParseError, match="outside a writer block"):
        parse_vss_writers(text)


def test_parse_error_is_a_value_error():
    assert issubclass(VssParseError, ValueError)


def test_parse_rejects_bytes():
    with pytest.raises(VssParseError, match="decode"):
        parse_vss_writers(EN_US.encode())


def test_name_with_colon_and_apostrophe_inside_quotes():
    text = render([writer("Foo: Bar's Writer", SYSTEM_ID)])
    assert parse_vss_writers(text)[0]["name"] == "Foo: Bar's Writer"


# ------------------------------------------------------------------------- map


def test_map_has_no_contested_or_unsourced_rows():
    names = {row["name"].lower() for row in WRITER_SERVICES}
    for name in (
        "certificate authority",
        "ntds",
        "mssearch service writer",
        "performance counters writer",
        "task scheduler writer",
        "vss metadata store writer",
    ):
        assert name not in names


def test_map_rows_well_formed_and_ids_unique():
    ids = [row["writer_id"] for row in WRITER_SERVICES if row["writer_id"]]
    assert len(ids) == len(set(ids))
    for row in WRITER_SERVICES:
        assert set(row) == {"name", "writer_id", "service", "disruptive"}
        if row["writer_id"]:
            assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", row["writer_id"])


def test_disruptive_flags():
    flags = {row["service"]: row["disruptive"] for row in WRITER_SERVICES}
    for service in ("MSExchangeIS", "MSExchangeRepl", "vmms", "IISADMIN", "AppHostSvc", "DHCPServer", "DFSR", "MSMQ"):
        assert flags[service] is True
    for service in ("CryptSvc", "Winmgmt", "VSS", "BITS", "EventSystem", "SQLWriter", "WIDWriter", "srmsvc"):
        assert flags[service] is False
    assert sorted(default_allowed_services()) == sorted(
        ["CryptSvc", "Winmgmt", "SQLWriter", "VSS", "BITS", "srmsvc", "EventSystem", "WIDWriter"]
    )


def test_lookup_by_id_first_then_name():
    # A renamed writer still maps by id; an unknown id falls back to the name, case-insensitively.
    assert lookup_service(writer("Renamed", SYSTEM_ID))["service"] == "CryptSvc"
    assert lookup_service(writer("system writer", "11111111-1111-1111-1111-111111111111"))["service"] == "CryptSvc"
    # id wins over a name that belongs to another row
    assert lookup_service(writer("WMI Writer", SYSTEM_ID))["service"] == "CryptSvc"


def test_lookup_name_only_rows():
    assert (
        lookup_service(writer("microsoft hyper-v vss writer", "22222222-2222-2222-2222-222222222222"))["service"]
        == "vmms"
    )


def test_unmapped_is_never_guessed():
    for name in ("Performance Counters Writer", "NTDS", "Certificate Authority", "MSSearch Service Writer"):
        assert lookup_service(writer(name, "33333333-3333-3333-3333-333333333333")) is None


def test_extra_map_takes_precedence_and_extends():
    extra = [
        {"writer_id": "{E8132975-6F93-4464-A53E-1050253AE220}", "service": "MyCrypt"},
        {"name": "task scheduler writer", "service": "Schedule"},
    ]
    assert lookup_service(writer("System Writer", SYSTEM_ID), extra)["service"] == "MyCrypt"
    assert (
        lookup_service(writer("Task Scheduler Writer", "44444444-4444-4444-4444-444444444444"), extra)["service"]
        == "Schedule"
    )


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        (["CryptSvc"], r"extra_writer_services\[0\] must be a dict"),
        ([{"name": "x"}], "service"),
        ([{"service": "x"}], "name' or 'writer_id"),
        ([{"writer_id": "nope", "service": "x"}], "not a GUID"),
        ([{"name": "x", "service": "y", "bogus": 1}], "unknown keys: bogus"),
    ],
)
def test_extra_map_validation(rows, match):
    with pytest.raises(ValueError, match=match):
        normalize_extra_map(rows)


def test_extra_map_disruptive_defaults_from_builtin():
    (row,) = normalize_extra_map([{"name": "x", "service": "msexchangeis"}])
    assert row["disruptive"] is True
    (row,) = normalize_extra_map([{"name": "x", "service": "CryptSvc"}])
    assert row["disruptive"] is False
    # a service the built-in map does not know is disruptive unless the user says otherwise
    (row,) = normalize_extra_map([{"name": "x", "service": "Schedule"}])
    assert row["disruptive"] is True
    (row,) = normalize_extra_map([{"name": "x", "service": "Schedule", "disruptive": False}])
    assert row["disruptive"] is False


# ------------------------------------------------------------------------- plan


def test_plan_dedups_services_hosting_several_writers():
    writers = [
        writer("Registry Writer", REGISTRY_ID, 8, "Timed out"),
        writer("ASR Writer", ASR_ID, 7, "Retryable error"),
        writer("System Writer", SYSTEM_ID),
    ]
    plan = plan_vss(writers, HOST_SERVICES, restart=True)
    assert [a["service"] for a in plan["actions"]] == ["VSS"]
    (action,) = plan["actions"]
    assert action["writers"] == ["Registry Writer", "ASR Writer"]
    assert action["allowed"] is True and action["disruptive"] is False
    assert action["action"] == "restart_service"


def test_plan_restart_not_opted_in():
    plan = plan_vss([writer("System Writer", SYSTEM_ID, 8)], HOST_SERVICES, restart=False)
    (action,) = plan["actions"]
    assert action["allowed"] is False and "restart not opted in" in action["reason"]


def test_plan_disruptive_needs_listing():
    writers = [writer("Microsoft Exchange Writer", EXCHANGE_ID, 7)]
    (action,) = plan_vss(writers, HOST_SERVICES, restart=True)["actions"]
    assert action["allowed"] is False and action["disruptive"] is True and "disruptive" in action["reason"]
    (action,) = plan_vss(writers, HOST_SERVICES, restart=True, allowed_services=["msexchangeis"])["actions"]
    assert action["allowed"] is True


def test_plan_explicit_allowed_list_replaces_default():
    writers = [writer("System Writer", SYSTEM_ID, 8)]
    (action,) = plan_vss(writers, HOST_SERVICES, restart=True, allowed_services=["VSS"])["actions"]
    assert action["allowed"] is False and action["reason"] == "not in allowed_services"


def test_plan_missing_service_is_reported_not_restarted():
    writers = [writer("System Writer", SYSTEM_ID, 8)]
    plan = plan_vss(writers, [svc("VSS")], restart=True)
    assert plan["actions"] == []
    assert plan["missing_services"] == [{"service": "CryptSvc", "writers": ["System Writer"]}]


def test_plan_unmapped_reported():
    writers = [writer("Performance Counters Writer", "0bada1de-01a9-4625-8278-69e735f39dd2", 7)]
    plan = plan_vss(writers, HOST_SERVICES, restart=True)
    assert plan["actions"] == [] and plan["unmapped"] == writers


def test_plan_running_dependents_need_force():
    services = [
        svc("Winmgmt", dependents=["iphlpsvc", "SharedAccess"]),
        svc("iphlpsvc"),
        svc("SharedAccess", "stopped"),
    ]
    writers = [writer("WMI Writer", WMI_ID, 8)]
    (action,) = plan_vss(writers, services, restart=True)["actions"]
    assert action["allowed"] is False and "iphlpsvc" in action["reason"] and "SharedAccess" not in action["reason"]
    (action,) = plan_vss(writers, services, restart=True, force_dependent_services=True)["actions"]
    assert action["allowed"] is True and action["dependents"] == ["iphlpsvc"]


def test_plan_uses_host_casing_of_service_name():
    (action,) = plan_vss([writer("System Writer", SYSTEM_ID, 8)], [svc("cryptsvc")], restart=True)["actions"]
    assert action["service"] == "cryptsvc"


# ------------------------------------------------------------------------- evaluate


def probe(text, rc=0, services=None):
    services = HOST_SERVICES if services is None else services
    return {
        "probe": "vmbackup.azure.windows_probe",
        "version": 1,
        "computer_name": "WIN-01",
        "locale": "en-US",
        "vssadmin": {"rc": rc, "stdout": text},
        "services": services,
    }


def test_evaluate_pass():
    finding = evaluate_vss(probe(render([writer("System Writer", SYSTEM_ID)])), {})
    assert finding == {
        "error_code": "ExtensionFailedVssWriterInBadState",
        "status": "pass",
        "detail": "all 1 writers stable",
        "fix": "",
        "actions": [],
    }


def test_evaluate_fail_detail_and_fix():
    text = render(
        [
            writer("System Writer", SYSTEM_ID, 8, "Timed out"),
            writer("Microsoft Exchange Writer", EXCHANGE_ID, 7, "Retryable error"),
            writer("Performance Counters Writer", "0bada1de-01a9-4625-8278-69e735f39dd2", 7, "Non-retryable error"),
            writer("WMI Writer", WMI_ID),
        ]
    )
    finding = evaluate_vss(probe(text), {"restart": True})
    assert finding["status"] == "fail"
    assert finding["detail"].startswith("3 writers not stable: 'System Writer' [8]")
    assert "Timed out" in finding["detail"] and "Retryable error" in finding["detail"]
    assert "restart CryptSvc (hosts 'System Writer')" in finding["fix"]
    assert "MSExchangeIS" in finding["fix"] and "disruptive" in finding["fix"]
    assert "(reported, never guessed): 'Performance Counters Writer'" in finding["fix"]
    assert [(a["service"], a["allowed"]) for a in finding["actions"]] == [("CryptSvc", True), ("MSExchangeIS", False)]


@pytest.mark.parametrize(
    ("p", "match"),
    [
        (probe(BANNER), "no writers"),
        (probe(BANNER + "\nError: VSS is down\n", rc=2), r"rc=2.*VSS is down"),
        (probe(EN_US.rsplit("   State", 1)[0]), "could not parse"),
        ({"probe": "vmbackup.azure.windows_probe"}, "no vssadmin"),
        (None, "no Windows probe"),
    ],
)
def test_evaluate_error(p, match):
    finding = evaluate_vss(p, {})
    assert finding["status"] == "error"
    assert re.search(match, finding["detail"])
    assert finding["actions"] == [] and finding["fix"] == ""


def test_evaluate_same_plan_as_plan_vss():
    writers = [writer("System Writer", SYSTEM_ID, 8), writer("Registry Writer", REGISTRY_ID, 8)]
    finding = evaluate_vss(probe(render(writers)), {"restart": True})
    assert finding["actions"] == plan_vss(writers, HOST_SERVICES, restart=True)["actions"]


# ------------------------------------------------------------------------- property test

GUIDS = st.uuids().map(str)
NAMES = st.text(alphabet=string.ascii_letters + string.digits + " +-()_.", min_size=1, max_size=30).filter(
    lambda s: s.strip() == s and s
)
WRITERS = st.builds(
    writer,
    NAMES,
    GUIDS,
    st.integers(min_value=0, max_value=15),
    st.sampled_from(["No error", "Timed out", "Retryable error", "Non-retryable error", "Not responding"]),
    GUIDS,
)


def _check(text, result):
    """Every writer returned is literally in the input: its name line, then its two GUIDs, then [state]."""
    lines = [line.strip() for line in re.split(r"\r\n|\r|\n", text) if line.strip()]
    for w in result:
        assert isinstance(w["state"], int)
        assert any(
            w["name"] in lines[i]
            and "{" + w["writer_id"] + "}" in lines[i + 1].lower()
            and "{" + w["instance_id"] + "}" in lines[i + 2].lower()
            and f"[{w['state']}]" in lines[i + 3].replace(" ", "")
            for i in range(len(lines) - 4)
        ), w


@st.composite
def mangled(draw):
    writers = draw(st.lists(WRITERS, max_size=4))
    sep = draw(st.sampled_from([": ", " : ", "\uff1a", ":"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = render(writers, sep=sep, newline=newline).split(newline)
    for _step in range(draw(st.integers(min_value=0, max_value=4))):
        if not lines:
            break
        op = draw(st.sampled_from(["delete", "duplicate", "truncate", "insert", "swap"]))
        i = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "truncate":
            lines[i] = lines[i][: draw(st.integers(min_value=0, max_value=len(lines[i])))]
        elif op == "insert":
            lines.insert(i, draw(st.text(max_size=40)))
        else:
            j = draw(st.integers(min_value=0, max_value=len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
    return newline.join(lines), writers


def _parses_exactly_or_raises(text):
    try:
        result = parse_vss_writers(text)
    except VssParseError:
        return
    _check(text, result)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mangled())
def test_property_mangled_output_parses_exactly_or_raises(sample):
    text, _writers = sample
    _parses_exactly_or_raises(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_property_random_text_never_crashes(text):
    _parses_exactly_or_raises(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(WRITERS, max_size=5), st.sampled_from([": ", " : ", "\uff1a"]), st.sampled_from(["\n", "\r\n"]))
def test_property_round_trip(writers, sep, newline):
    assert parse_vss_writers(render(writers, sep=sep, newline=newline)) == writers


@pytest.mark.parametrize(("locale", "codepage"), [("zh-TW", "cp950"), ("ja-JP", "cp932"), ("fr-FR", "cp850")])
def test_oem_code_page_read_as_utf8_still_parses(locale, codepage):
    # vssadmin in the OEM code page, decoded as UTF-8 by PowerShell in Ansible's exec wrapper
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim import vssadmin

    writers = [
        {"name": "System Writer", "writer_id": "e8132975-6f93-4464-a53e-1050253ae220",
         "instance_id": "eb6b4c30-aa48-486a-9618-0d1934d180ca", "state": 8, "last_error": "Timed out"},
        {"name": "WMI Writer", "writer_id": "a6ad56c2-b509-4e6c-bb19-49d8f43532f0",
         "instance_id": "560618ca-27b7-457a-92eb-7a722f25e17f", "state": 1, "last_error": "No error"},
    ]  # fmt: skip
    _rc, text = vssadmin.render(writers, locale)
    mangled = text.encode(codepage).decode("utf-8", errors="replace")
    assert "\ufffd" in mangled
    parsed = parse_vss_writers(mangled)
    assert [(w["name"], w["writer_id"], w["state"]) for w in parsed] == [
        ("System Writer", "e8132975-6f93-4464-a53e-1050253ae220", 8),
        ("WMI Writer", "a6ad56c2-b509-4e6c-bb19-49d8f43532f0", 1),
    ]


def test_parse_error_does_not_echo_a_huge_line():
    # a whole bad line (1 MB) must not end up in the error message
    with pytest.raises(VssParseError) as info:
        parse_vss_writers("   Writer Id: {e8132975-6f93-4464-a53e-1050253ae220}" + "x" * 1_000_000)
    assert len(str(info.value)) < 400 and "characters)" in str(info.value)
