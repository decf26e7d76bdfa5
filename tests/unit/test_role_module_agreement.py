"""Role defaults, meta/argument_specs.yml, the module's documentation and the module's argument spec agree.

For every role task that calls one of this collection's modules / action plugins, each option passed
straight from a role variable (``opt: "{{ <role>_<var> }}"``, or ``... if <role>_<var> is not none else
omit``) must have, in all four places, the same type, the same choices (and list element type) and the
same default -- a default that differs in one place is the one the user did not read.
"""

from __future__ import annotations

import glob
import importlib
import os
import re

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = os.path.join(ROOT, "roles")
PKG = "ansible_collections.vmbackup.azure.plugins"
DIRECT = re.compile(r"^\{\{\s*(\w+)(?:\s+if\s+\1\s+is\s+not\s+none\s+else\s+omit)?\s*\}\}$")


def _load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _tasks(node):
    if isinstance(node, list):
        for item in node:
            yield from _tasks(item)
    elif isinstance(node, dict):
        yield node
        for key in ("block", "rescue", "always"):
            yield from _tasks(node.get(key))


LOOKUP = re.compile(r"^\{\{\s*lookup\('ansible\.builtin\.vars', role_name ~ '_(\w+)'\)\s*\}\}$")
# a shared body: ../<role>/tasks/<file>.yml names one file; a templated name (the OS's) any of that role's files
SHARED = re.compile(r"\.\./(\w+)/tasks/(\w+\.yml)?")


def _role_var(role, value, task_vars):
    """The role variable an option is passed straight from, or None (a computed value)."""
    text = str(value).strip()
    match = DIRECT.match(text)
    if match and match.group(1) in task_vars:  # a task-level alias: __x: "{{ lookup(...) }}"
        text = str(task_vars[match.group(1)]).strip()
        match = DIRECT.match(text)
    if match and match.group(1).startswith(role + "_"):
        return match.group(1)
    match = LOOKUP.match(text)  # a body shared by several roles reads the including role's variables
    return f"{role}_{match.group(1)}" if match else None


def mappings():
    """(role, module, option, role variable) for every option a role passes straight from a variable."""
    found = []
    for role in sorted(os.listdir(ROLES)):
        files = sorted(glob.glob(os.path.join(ROLES, role, "tasks", "*.yml")))
        for path in list(files):
            with open(path, encoding="utf-8") as handle:
                shared_roles = SHARED.findall(handle.read())
            for shared, name in shared_roles:
                files += sorted(glob.glob(os.path.join(ROLES, shared, "tasks", name or "*.yml")))
        for path in files:
            for task in _tasks(_load(path)):
                for key, args in task.items():
                    if not key.startswith("vmbackup.azure.") or not isinstance(args, dict):
                        continue
                    for option, value in args.items():
                        var = _role_var(role, value, task.get("vars") or {})
                        if var:
                            found.append((role, key.rsplit(".", 1)[1], option, var))
    return sorted(set(found))


MAPPINGS = mappings()


def _doc_options(module):
    mod = importlib.import_module(f"{PKG}.modules.{module}")
    doc = yaml.safe_load(mod.DOCUMENTATION)
    options = dict(doc.get("options") or {})
    # options documented in a doc fragment (extends_documentation_fragment)
    for fragment in doc.get("extends_documentation_fragment") or []:
        if not fragment.startswith("vmbackup.azure."):
            continue  # ansible.builtin's fragments add attributes, not options
        name = fragment.split(".")[-1]
        frag = importlib.import_module(f"{PKG}.doc_fragments.{name}").ModuleDocFragment.DOCUMENTATION
        options = {**(yaml.safe_load(frag).get("options") or {}), **options}
    return options


class _Captured(Exception):
    pass


def _module_spec(module):
    """The argument spec the option is validated with: the action plugin's, else the module's own."""
    try:
        action = importlib.import_module(f"{PKG}.action.{module}")
    except ImportError:
        action = None
    if action is not None:
        spec = getattr(getattr(action, "ActionModule", None), "ARGUMENT_SPEC", None) or getattr(
            action, "ARGUMENT_SPEC", None
        )
        if spec is not None:
            return spec
    mod = importlib.import_module(f"{PKG}.modules.{module}")
    captured = {}

    def fake(*args, **kwargs):
        captured.update(kwargs["argument_spec"])
        raise _Captured

    real = mod.AnsibleModule
    mod.AnsibleModule = fake
    try:
        mod.main()
    except _Captured:
        pass
    finally:
        mod.AnsibleModule = real
    return captured


def _shape(spec):
    """type / choices / elements / default of one option, as the four places write them."""
    return {
        "type": spec.get("type", "str"),
        "choices": sorted(map(str, spec["choices"])) if spec.get("choices") else None,
        "elements": spec.get("elements"),
        "default": spec.get("default"),
    }


def test_the_mappings_are_found():
    roles = {role for role, *dummy in MAPPINGS}
    assert len(MAPPINGS) >= 60 and len(roles) >= 14  # the task reader is not silently blind


@pytest.mark.parametrize(("role", "module", "option", "var"), MAPPINGS, ids=[f"{m[0]}:{m[1]}:{m[2]}" for m in MAPPINGS])
def test_role_defaults_spec_docs_and_module_agree(role, module, option, var):
    defaults = _load(os.path.join(ROLES, role, "defaults", "main.yml")) or {}
    spec = _load(os.path.join(ROLES, role, "meta", "argument_specs.yml"))["argument_specs"]["main"]["options"]
    assert var in spec, f"{role}: {var} has no entry in meta/argument_specs.yml"
    assert var in defaults, f"{role}: {var} has no default in defaults/main.yml"
    role_shape = _shape(spec[var])
    assert role_shape["default"] == defaults[var], f"{var}: argument_specs default != defaults/main.yml"

    doc = _doc_options(module)
    assert option in doc, f"{module}: option {option} is not documented"
    doc_shape = _shape(doc[option])
    code = _module_spec(module)
    assert option in code, f"{module}: option {option} is not in the argument spec"
    code_shape = _shape(code[option])
    assert doc_shape == code_shape, f"{module}.{option}: documentation {doc_shape} != argument spec {code_shape}"

    for key in ("type", "choices", "elements"):
        assert role_shape[key] == doc_shape[key], (
            f"{var} {key} {role_shape[key]!r} != {module}.{option} {doc_shape[key]!r}"
        )
    if role_shape["default"] is not None:  # None: the option is left to the module (omit / null)
        assert role_shape["default"] == doc_shape["default"], (
            f"{var} defaults to {role_shape['default']!r}, {module}.{option} to {doc_shape['default']!r}"
        )
