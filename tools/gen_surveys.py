#!/usr/bin/env python3
"""Write AWX survey specs (JSON) for the scan, remediate and triage job templates from argument specs.

Sources: meta/playbook_argument_specs.yml (the playbooks' own variables) and, for remediate and triage,
the boolean opt-in variables of every implemented fix role (roles/<role>/meta/argument_specs.yml).
AWX survey question types: text, textarea, password, integer, float, multiplechoice, multiselect
(awx/api/serializers.py ``SurveySpec`` / awx/main/models/mixins.py ``SurveyJobTemplateMixin``).
A bool becomes a multiple choice of "false" / "true": AWX sends the string, which the scan and the
roles read as the boolean (plugins/plugin_utils/_role_vars.py). List options of roles (services,
mounts) are not offered: a survey cannot send a list of free items (set them in the inventory).

Usage: tools/gen_surveys.py [--check]   (--check: exit 1 when a file is not current)
"""

from __future__ import annotations

import json
import os
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "docs", "examples", "awx-project", "surveys")
sys.path.insert(0, os.path.join(ROOT, ".collections"))

from ansible_collections.vmbackup.azure.plugins.module_utils._catalog import CATALOG, implemented_codes  # noqa: E402


def load(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def question(variable: str, spec: dict, codes: list[str]) -> dict | None:
    description = spec.get("description") or ""
    if isinstance(description, list):
        description = " ".join(description)
    base = {
        "question_name": variable,
        "question_description": " ".join(description.split())[:500],
        "variable": variable,
        "required": False,
    }
    kind = spec.get("type", "str")
    default = spec.get("default")
    if kind == "bool":
        return {
            **base,
            "type": "multiplechoice",
            "choices": ["false", "true"],
            "default": "true" if default else "false",
        }
    if kind == "int":
        return {**base, "type": "integer", "default": default if default is not None else ""}
    if kind == "list" and variable == "vmbackup_error_codes":
        return {**base, "type": "multiselect", "choices": codes, "default": ""}
    if kind == "list":
        return None
    if spec.get("choices"):
        choices = [str(c) for c in spec["choices"]]
        return {**base, "type": "multiplechoice", "choices": choices, "default": str(default or choices[0])}
    return {**base, "type": "text", "default": "" if default is None else str(default)}


def surveys() -> dict[str, dict]:
    specs = load("meta/playbook_argument_specs.yml")["playbooks"]
    codes = implemented_codes()
    roles = sorted({entry.role for entry in CATALOG if entry.implemented and entry.role})
    opt_ins = {}
    for role in roles:
        options = load(f"roles/{role}/meta/argument_specs.yml")["argument_specs"]["main"]["options"]
        opt_ins.update({name: spec for name, spec in options.items() if spec.get("type") == "bool"})
    out = {}
    for playbook, spec in specs.items():
        options = dict(spec["options"])
        if playbook in ("remediate", "triage"):
            options.update(opt_ins)
        questions = [q for name, option in options.items() if (q := question(name, option, codes))]
        out[playbook] = {
            "name": f"vmbackup.azure {playbook}",
            "description": spec["short_description"],
            "spec": questions,
        }
    return out


def main() -> int:
    check = "--check" in sys.argv[1:]
    stale = []
    os.makedirs(OUT, exist_ok=True)
    for playbook, survey in surveys().items():
        path = os.path.join(OUT, f"{playbook}.json")
        text = json.dumps(survey, indent=2, ensure_ascii=False) + "\n"
        current = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                current = handle.read()
        if current != text:
            stale.append(os.path.relpath(path, ROOT))
            if not check:
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(text)
    if check and stale:
        print("not current (run tools/gen_surveys.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
