"""AWX survey specs: generated from the argument specs, current, valid, and every answer accepted.

- docs/examples/awx-project/surveys/*.json are what tools/gen_surveys.py writes today;
- each is a survey spec AWX accepts: name, description, spec[] of questions with a known type, a unique
  variable, choices for choice questions, a default among them;
- every variable is one the playbook or a fix role reads; every opt-in of every implemented role is offered
  in remediate and triage;
- every answer a question allows (each choice, as the string AWX sends) is accepted by the function the
  scan and remediate read it with (role variables: _role_vars.role_vars; error codes: normalize_codes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml
from ansible_collections.vmbackup.azure.plugins.module_utils._catalog import CATALOG, normalize_codes
from ansible_collections.vmbackup.azure.plugins.plugin_utils._role_vars import role_spec, role_vars

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SURVEYS = os.path.join(ROOT, "docs", "examples", "awx-project", "surveys")
TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
ROLES = sorted({e.role for e in CATALOG if e.implemented and e.role})


def load(playbook):
    with open(os.path.join(SURVEYS, f"{playbook}.json"), encoding="utf-8") as handle:
        return json.load(handle)


def test_the_survey_files_are_current():
    proc = subprocess.run(
        [sys.executable, "tools/gen_surveys.py", "--check"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("playbook", ["scan", "remediate", "triage"])
def test_each_survey_is_a_valid_awx_survey_spec(playbook):
    survey = load(playbook)
    assert set(survey) == {"name", "description", "spec"} and survey["spec"]
    variables = [q["variable"] for q in survey["spec"]]
    assert len(variables) == len(set(variables))
    for q in survey["spec"]:
        assert {"question_name", "question_description", "variable", "type", "required", "default"} <= set(q)
        assert q["type"] in TYPES
        if q["type"] == "multiplechoice":
            assert q["choices"] and q["default"] in q["choices"]
        if q["type"] == "multiselect":
            assert q["choices"] and all(c in q["choices"] for c in filter(None, str(q["default"]).split("\n")))


def _role_of(variable):
    return next((role for role in ROLES if variable in role_spec(role)), None)


@pytest.mark.parametrize("playbook", ["scan", "remediate", "triage"])
def test_every_answer_is_read_as_the_playbook_and_the_roles_read_it(playbook):
    with open(os.path.join(ROOT, "meta", "playbook_argument_specs.yml"), encoding="utf-8") as handle:
        own = yaml.safe_load(handle)["playbooks"][playbook]["options"]
    with open(os.path.join(ROOT, "playbooks", f"{playbook}.yml"), encoding="utf-8") as handle:
        text = handle.read()
    for q in load(playbook)["spec"]:
        variable = q["variable"]
        answers = q.get("choices") or [q["default"]]
        role = _role_of(variable)
        if role:
            for answer in answers:  # the string AWX sends
                typed = role_vars(role, {variable: answer}.__getitem__)[variable[len(role) + 1 :]]
                assert typed is (answer == "true") if q["type"] == "multiplechoice" else typed == answer
        else:
            assert variable in own and variable in text, variable  # a playbook variable the playbook reads
        if variable == "vmbackup_error_codes":
            assert normalize_codes("\n".join(answers)) and normalize_codes(answers) and normalize_codes("") == []


def test_remediate_and_triage_offer_every_opt_in_of_every_role():
    offered = {q["variable"] for q in load("remediate")["spec"]}
    for role in ROLES:
        for name, spec in role_spec(role).items():
            if spec.get("type") == "bool":
                assert name in offered
    assert {q["variable"] for q in load("triage")["spec"]} >= offered - {
        "vmbackup_error_codes",
        "vmbackup_remediate_serial",
    }
