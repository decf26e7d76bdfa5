"""The Windows probe script: valid PowerShell, read-only, runs in check mode, one object out."""

from __future__ import annotations

import re

import pytest
import tree_sitter
import tree_sitter_powershell
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_probe import (
    PROBE_MARKER,
    PROBE_SCRIPT,
    ProbeError,
    probe_args,
    probe_from_result,
)

# Verbs/cmdlets that change state. The probe may only read.
STATE_CHANGING = re.compile(
    r"^(Set|Stop|Start|Restart|Remove|New|Suspend|Resume|Add|Clear|Disable|Enable|Install|Uninstall|Register|"
    r"Unregister|Update|Rename|Move|Copy|Reset|Write|Out|Export|Import|Invoke|Push|Pop|Mount|Dismount|Publish|"
    r"Grant|Revoke|Block|Unblock|Lock|Unlock|Initialize|Format|Repair|Restore|Backup|Save|Send|Sync|Protect|"
    r"Unprotect|Connect|Disconnect|Deny|Approve|Complete|Checkpoint|Submit|Use|Undo)-",
    re.IGNORECASE,
)
ALLOWED_COMMANDS = {"get-ciminstance", "get-service", "get-culture", "foreach-object", "vssadmin.exe"}
# agent / installer / conditions sections: read files, registry, event log; sort and pick
ALLOWED_COMMANDS |= {"test-path", "get-item", "get-itemproperty", "get-childitem", "join-path", "get-content"}
ALLOWED_COMMANDS |= {"measure-object", "get-date", "get-winevent", "sort-object", "select-object", "where-object"}
# machinekeys_acl / certificates_my / bitlocker sections: ACL, certificate store, BitLocker status
ALLOWED_COMMANDS |= {"get-acl", "get-command", "get-bitlockervolume"}
# .NET / CIM methods that change a service or the system
STATE_CHANGING_METHODS = {
    "stop",
    "start",
    "pause",
    "continue",
    "delete",
    "change",
    "changestartmode",
    "stopservice",
    "startservice",
    "pauseservice",
    "resumeservice",
    "invokemethod",
    "kill",
    "executecommand",
}


@pytest.fixture(scope="module")
def tree():
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
    return parser.parse(PROBE_SCRIPT.encode("utf-8"))


def _walk(node):
    yield node
    for child in node.children:
        yield from _walk(child)


def _text(node):
    return node.text.decode("utf-8")


def test_script_parses_without_errors(tree):
    bad = [n for n in _walk(tree.root_node) if n.type == "ERROR" or n.is_missing]
    assert not bad, [(n.type, n.start_point, _text(n)[:60]) for n in bad]
    assert not tree.root_node.has_error


def test_parser_detects_broken_powershell():
    # guard: the check above would be worthless if the grammar accepted anything
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
    assert parser.parse(b"$x = @{ a = (1 + }\n").root_node.has_error


def test_marker_cmdletbinding_param_and_changed_false(tree):
    lines = PROBE_SCRIPT.splitlines()
    assert lines[0] == PROBE_MARKER == "# vmbackup.azure:windows_probe"
    assert re.search(r"^\[CmdletBinding\(SupportsShouldProcess\)\]\s*$", PROBE_SCRIPT, re.MULTILINE)
    # the only parameters: names to resolve and days of event log (plain data, never code)
    assert re.search(
        r"^param\(\n(\s+#.*\n)*\s+\[string\[\]\]\$AzureEndpointNames = @\(\),\n\s+\[int\]\$BackupEventDays = 7\n\)$",
        PROBE_SCRIPT,
        re.MULTILINE,
    )
    assert re.search(r"^\$Ansible\.Changed = \$false\s*$", PROBE_SCRIPT, re.MULTILINE)
    assert tree.root_node.children[0].type in ("comment", "param_block")
    assert any(n.type == "param_block" for n in tree.root_node.children)


def test_only_read_only_commands(tree):
    names = [_text(n) for n in _walk(tree.root_node) if n.type == "command_name"]
    assert names, "no command found: the grammar changed?"
    for name in names:
        assert not STATE_CHANGING.match(name), name
        assert name.lower() in ALLOWED_COMMANDS, name
    assert "Invoke-Expression" not in PROBE_SCRIPT and "iex " not in PROBE_SCRIPT.lower()


def test_no_state_changing_method_calls(tree):
    calls = [n for n in _walk(tree.root_node) if n.type == "invokation_expression"]
    for call in calls:
        member = [c for c in call.children if c.type == "member_name"]
        for m in member:
            assert _text(m).lower() not in STATE_CHANGING_METHODS, _text(call)


def test_vssadmin_captured_with_lastexitcode_and_lf_join():
    assert "vssadmin.exe list writers" in PROBE_SCRIPT
    assert "$LASTEXITCODE" in PROBE_SCRIPT
    assert '-join "`n"' in PROBE_SCRIPT


def test_probe_object_has_contract_keys():
    for key in ("probe", "version", "computer_name", "locale"):
        assert re.search(rf"^\s+{key} = ", PROBE_SCRIPT, re.MULTILINE), key
    for section in ("vssadmin", "services"):
        assert f"# section: {section}\n" in PROBE_SCRIPT
        assert f"$probe['{section}'] = " in PROBE_SCRIPT
    for key in ("name", "display_name", "state", "start_mode", "username", "dependencies", "dependents"):
        assert re.search(rf"^\s+{key} = ", PROBE_SCRIPT, re.MULTILINE), key
    for state in ("running", "stopped", "start_pending", "stop_pending", "paused"):
        assert f"= '{state}'" in PROBE_SCRIPT


def test_probe_args():
    args = probe_args()
    assert args["script"] == PROBE_SCRIPT
    assert args["depth"] >= 4  # probe -> services -> service -> dependencies


def _probe_obj(**extra):
    return {"probe": "vmbackup.azure.windows_probe", "version": 1, "vssadmin": {"rc": 0, "stdout": ""}, **extra}


def test_probe_from_result_ok():
    assert probe_from_result({"changed": False, "output": [_probe_obj()]})["version"] == 1


@pytest.mark.parametrize(
    ("result", "match"),
    [
        ({"failed": True, "msg": "boom", "error": [{"error_details": {"message": "denied"}}]}, "boom: denied"),
        ({"output": []}, "exactly one object, got 0"),
        ({"output": [_probe_obj(), _probe_obj()]}, "exactly one object, got 2"),
        ({"output": [{"probe": "other"}]}, "not a vmbackup.azure.windows_probe"),
        ("nope", "not a result dict"),
    ],
)
def test_probe_from_result_errors(result, match):
    with pytest.raises(ProbeError, match=match):
        probe_from_result(result)


def test_probe_from_result_real_win_powershell_failure_shape():
    # a script that throws comes back from win_powershell.ps1 with failed, no msg and
    # error entries whose error_details is null (ansible.windows 3.x lines 1019-1044)
    result = {
        "changed": False,
        "failed": True,
        "output": [],
        "error": [
            {
                "output": "Access is denied\r\n",
                "error_details": None,
                "exception": {"message": "Access is denied", "type": "System.UnauthorizedAccessException"},
                "target_object": None,
                "fully_qualified_error_id": "RuntimeException",
            },
            {"error_details": None, "exception": None, "output": "second\r\n"},
        ],
    }
    with pytest.raises(ProbeError, match=r"win_powershell failed: Access is denied; second$"):
        probe_from_result(result)


def test_every_section_is_named_and_stores_its_own_key():
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_probe import SECTIONS

    for name, snippet in SECTIONS.items():
        assert snippet.startswith(f"# section: {name}\n"), name
        assert f"$probe['{name}']" in snippet or f"section_errors['{name}']" in snippet, name
