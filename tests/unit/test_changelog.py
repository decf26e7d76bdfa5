"""Changelog fragments (changelogs/fragments/*.yml) are in the ansible.windows style.

One bullet per change, on one line: ``<role, module, plugin, playbook or make target> - <what changed>.``
(``win_find - add support for 'any' to find both directories and files.``). A paragraph - a folded
``>-`` block, or one long line telling several changes - is refused; split it into bullets.
Sections are the ones changelogs/config.yaml declares (antsibull-changelog reads the same file).
"""

from __future__ import annotations

import os
import re

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FRAGMENTS = os.path.join(ROOT, "changelogs", "fragments")
CONFIG = os.path.join(ROOT, "changelogs", "config.yaml")
# <name> - <change>: the name is a role, module, plugin, playbook, file or make target (several joined by ", ")
BULLET = re.compile(r"^[\w.:/, -]+? - \S")
MAX_LENGTH = 220


def sections():
    with open(CONFIG, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    names = {name for name, _title in config["sections"]}
    return names | {config.get("trivial_section_name", "trivial")}, config.get("prelude_section_name")


def problems(path):
    """Every way the fragment at ``path`` breaks the style, as readable strings (empty: fine)."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    name = os.path.basename(path)
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        return [f"{name}: not valid YAML: {exc}"]
    if not isinstance(data, dict) or not data:
        return [f"{name}: not a mapping of changelog sections"]
    known, prelude = sections()
    found = []
    for key_node, value_node in root.value:
        section = key_node.value
        if section == prelude:
            if not isinstance(data[section], str):
                found.append(f"{name}: {section} is not a string")
            continue
        if section not in known:
            found.append(f"{name}: unknown section {section!r} (changelogs/config.yaml: {', '.join(sorted(known))})")
            continue
        if not isinstance(value_node, yaml.SequenceNode) or not value_node.value:
            found.append(f"{name}: {section} is not a list of bullets")
            continue
        for item in value_node.value:
            where = f"{name}:{item.start_mark.line + 1}"
            if not isinstance(item, yaml.ScalarNode) or item.tag != "tag:yaml.org,2002:str":
                found.append(f"{where}: a bullet is a string")
                continue
            if item.style in (">", "|") or item.end_mark.line != item.start_mark.line:
                found.append(f"{where}: a bullet spans several lines (a paragraph); write one line per change")
            bullet = item.value
            if "\n" in bullet.strip():
                found.append(f"{where}: a bullet holds a line break")
            if not BULLET.match(bullet):
                found.append(f"{where}: does not start '<role/module/plugin/target> - <what changed>': {bullet[:60]!r}")
            if not bullet.rstrip().endswith("."):
                found.append(f"{where}: does not end with a period (one sentence): {bullet[-40:]!r}")
            if len(bullet) > MAX_LENGTH:
                found.append(f"{where}: {len(bullet)} characters (at most {MAX_LENGTH}); one change per bullet")
    return found


def fragment_paths():
    return sorted(os.path.join(FRAGMENTS, n) for n in os.listdir(FRAGMENTS) if n.endswith((".yml", ".yaml")))


def test_there_are_fragments():
    assert fragment_paths()


@pytest.mark.parametrize("path", fragment_paths(), ids=os.path.basename)
def test_fragment_style(path):
    assert problems(path) == []


def test_no_fragment_calls_the_linux_agent_side_a_placeholder():
    for path in fragment_paths():
        with open(path, encoding="utf-8") as handle:
            assert "placeholder" not in handle.read().lower(), path


GOOD = """---
minor_changes:
  - vss_writers - new option ``waiting_recheck`` probes again before a waiting writer counts as stuck.
  - 'ext_filesystems, linux_backup_facts - ``shutdown`` is a kernel state flag, never given to mount.'
bugfixes:
  - make docs - also regenerates the AWX surveys.
"""

BAD = {
    "paragraph": """minor_changes:
  - >-
    vss_writers - new action-backed module that fixes ExtensionFailedVssWriterInBadState: one read-only
    win_powershell probe, writers parsed by structure in any display language.
""",
    "literal block": "bugfixes:\n  - |\n    waagent - restarts only on change.\n",
    "multi-line plain": "bugfixes:\n  - waagent - restarts only\n    on change.\n",
    "long line": "bugfixes:\n  - waagent - " + "restarts only on change, " * 12 + "done.\n",
    "no name": "bugfixes:\n  - Restarts only on change.\n",
    "no period": "bugfixes:\n  - waagent - restarts only on change\n",
    "unknown section": "new_features:\n  - waagent - restarts only on change.\n",
    "not a list": "bugfixes: waagent - restarts only on change.\n",
    "not yaml": "bugfixes:\n  - [waagent - restarts\n",
    "not a string": "bugfixes:\n  - {waagent: restarts}\n",
}


def test_a_good_fragment_passes(tmp_path):
    path = tmp_path / "good.yml"
    path.write_text(GOOD)
    assert problems(str(path)) == []


@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_bad_fragment_fails(tmp_path, kind):
    path = tmp_path / "bad.yml"
    path.write_text(BAD[kind])
    assert problems(str(path)), kind
