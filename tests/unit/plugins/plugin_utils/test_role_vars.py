"""A fix role's variables typed by the role's argument spec (the function the scan and remediate share)."""

from __future__ import annotations

import pytest
from ansible_collections.vmbackup.azure.plugins.plugin_utils._role_vars import RoleVarsError, role_vars

ROLE = "extension_failed_vss_writer_in_bad_state"


def lookup(values):
    def lookup_var(name):
        return values[name]

    return lookup_var


@pytest.mark.parametrize(
    ("text", "expected"), [("false", False), ("no", False), ("0", False), ("true", True), ("yes", True)]
)
def test_string_booleans_mean_what_the_role_reads(text, expected):
    assert role_vars(ROLE, lookup({f"{ROLE}_restart": text}))["restart"] is expected


def test_defaults_apply_and_ints_are_converted():
    got = role_vars(ROLE, lookup({f"{ROLE}_settle_timeout": "5"}))
    assert got["settle_timeout"] == 5 and got["restart"] is False and got["allowed_services"] is None


def test_a_value_the_spec_refuses_names_the_variable():
    with pytest.raises(RoleVarsError, match=f"{ROLE}_restart"):
        role_vars(ROLE, lookup({f"{ROLE}_restart": "maybe"}))


@pytest.mark.parametrize("text", ["CryptSvc\nWinmgmt", '["CryptSvc", "Winmgmt"]', "  [CryptSvc]  "])
def test_a_list_as_survey_text_is_refused(text):
    with pytest.raises(RoleVarsError, match=f"{ROLE}_allowed_services is a list, got text"):
        role_vars(ROLE, lookup({f"{ROLE}_allowed_services": text}))


def test_a_comma_separated_string_is_a_list_as_in_ansible():
    assert role_vars(ROLE, lookup({f"{ROLE}_allowed_services": "CryptSvc,VSS"}))["allowed_services"] == [
        "CryptSvc",
        "VSS",
    ]
