"""Our own references resolve.

- every "field-notes §N" / "field notes section N" citation names a section of docs/field-notes.md;
- every repository path a file cites (``docs/…``, ``roles/…``, ``plugins/…``, ``playbooks/…``,
  ``tests/…``, ``tools/…``) and every relative Markdown link exists;
- nothing shipped cites a path outside the repository (the machine's own folders, ``../shared``, ``../seed``);
- the shipped fix spec is the catalog tests' copy (docs/fixes.md vs tests/unit/data/fixes.md, except the
  source line that names the team's unshipped copy of Microsoft's page; tools/check-spec-copy compares both
  with the team's shared folder).
"""

from __future__ import annotations

import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKIP_DIRS = {
    ".git",
    ".venv",
    ".collections",
    ".ansible",
    "build",
    "reports",
    "context",
    "context-collections",
    "output",
}
SKIP_DIRS |= {".hypothesis", ".cache", "__pycache__", ".pytest_cache", ".ruff_cache", "states"}
TEXT = (".py", ".md", ".yml", ".yaml", ".j2", ".txt", ".cfg", ".toml", ".json", ".ps1")
CITATION = re.compile(r"field[- ]notes(?:\.md)?`?\)?,?\s*(?:§\s*|section\s+)(\d+)", re.IGNORECASE)
REPO_PATH = re.compile(r"(?<![\w/.-])((?:docs|roles|plugins|playbooks|tools|molecule|demo)/[\w./<>*-]*[\w])")
MD_LINK = re.compile(r"\]\(([^)\s]+)\)")
OUTSIDE = re.compile(r"[/]work/|\.\./shared|\.\./seed")


def text_files():
    for top, dirs, files in os.walk(ROOT):
        # hidden directories (.git, .venv*, .ansible, .collections ...) are tools' state, not our files
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith(".")]
        for name in files:
            path = os.path.join(top, name)
            rel = os.path.relpath(path, ROOT)
            if name.endswith(TEXT) or rel.startswith("tools" + os.sep) or name in ("Makefile", "LICENSE"):
                yield rel


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8", errors="replace") as handle:
        return handle.read()


FILES = sorted(text_files())


def test_the_field_notes_and_the_fix_spec_ship_under_docs():
    sections = re.findall(r"^## (\d+)\.", read("docs/field-notes.md"), re.MULTILINE)
    assert sections == [str(n) for n in range(1, len(sections) + 1)] and len(sections) >= 5
    shipped, tested = read("docs/fixes.md").splitlines(), read("tests/unit/data/fixes.md").splitlines()
    assert [i for i, (a, b) in enumerate(zip(shipped, tested, strict=True)) if a != b] == [2]  # the source line


def test_every_field_notes_citation_names_an_existing_section():
    sections = set(re.findall(r"^## (\d+)\.", read("docs/field-notes.md"), re.MULTILINE))
    cited, missing = 0, []
    for rel in FILES:
        for match in CITATION.finditer(read(rel)):
            cited += 1
            if match.group(1) not in sections:
                missing.append(f"{rel}: {match.group(0)!r}")
    assert not missing
    assert cited >= 20  # the citations are found at all (the regex is not silently blind)


def _exists(rel_path):
    if any(ch in rel_path for ch in "<>*"):  # a pattern such as roles/<role>/README.md
        return True
    return os.path.exists(os.path.join(ROOT, rel_path.rstrip(".")))


@pytest.mark.parametrize("rel", [f for f in FILES if not f.startswith(("tests", "changelogs"))])
def test_every_cited_repository_path_and_markdown_link_exists(rel):
    text = read(rel)
    missing = [p for p in REPO_PATH.findall(text) if not _exists(p)]
    if rel.endswith(".md"):
        for target in MD_LINK.findall(text):
            if re.match(r"[a-z]+:|#", target):
                continue
            path = os.path.normpath(os.path.join(os.path.dirname(rel), target.split("#")[0]))
            if not os.path.exists(os.path.join(ROOT, path)):
                missing.append(target)
    assert not missing, f"{rel} cites what does not exist: {missing}"


def test_nothing_shipped_cites_a_path_outside_the_repository():
    # tests/unit/data holds verbatim copies of the team's files (compared by tools/check-spec-copy, which
    # itself names the shared folder); .ci runs beside the team's folder and is not shipped.
    exempt = ("tests/unit/data/", "tools/check-spec-copy", "tests/unit/test_references.py")
    outside = [
        f"{rel}: {m.group(0)}" for rel in FILES if not rel.startswith(exempt) for m in OUTSIDE.finditer(read(rel))
    ]
    assert not outside
