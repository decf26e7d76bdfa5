# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fix role's variables, typed by the role's own ``meta/argument_specs.yml`` (internal, controller side).

The one function (``role_vars``) the scan (``backup_scan``, through ``_checks.options_from_vars``) and
``remediate.yml`` / ``triage.yml`` (through the ``role_vars`` filter, before the role runs) use, so
``-e name=false`` -- a string, as ``-e k=v`` and AWX surveys give -- means false in both, exactly as
the fix module, whose argument spec does the same conversion, reads it.

Conversion is Ansible's own: ``ArgumentSpecValidator`` (ansible/module_utils/common/arg_spec.py), the
class ``ansible.builtin.validate_argument_spec`` and the role's automatic argument validation use.
A list given as text that Ansible would *not* read as that list -- an AWX survey textarea with one
item per line, or a JSON list inside a string (ansible-core >= 2.19 no longer turns such a string
into a list when templating) -- is rejected with a message naming the variable: the role would
receive it as one odd item (``check_type_list`` splits on commas only:
ansible/module_utils/common/validation.py ``check_type_list``) and silently allow nothing.
"""

from __future__ import annotations

import functools
import os

import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

ROLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")


class RoleVarsError(ValueError):
    """A role variable does not fit the role's argument spec; the message names the variable."""


@functools.cache
def role_spec(role: str) -> dict:
    """The ``main`` entry point's options of a role's ``meta/argument_specs.yml``."""
    path = os.path.join(ROLES_DIR, role, "meta", "argument_specs.yml")
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)["argument_specs"]["main"]["options"]


def _survey_text(name: str, value, spec: dict) -> None:
    """Reject text that is meant as a list but that Ansible would not read as one."""
    if spec.get("type") != "list" or not isinstance(value, str):
        return
    text = value.strip()
    if "\n" in text or text.startswith("["):
        raise RoleVarsError(
            f"{name} is a list, got text ({text[:60]!r}{'...' if len(text) > 60 else ''}): give a YAML/JSON list "
            "(-e '{\"" + name + '": ["a", "b"]}\'; in an AWX survey a multiple-choice (multiple select) '
            "question, or the job template's extra variables) -- a textarea or a JSON list inside a string "
            "reaches the role as one item"
        )


def role_vars(role: str, lookup_var) -> dict:
    """``{option: typed value}`` (option = variable name without the role prefix), defaults applied.

    ``lookup_var(name)`` returns a variable's (templated) value or raises KeyError when unset.
    Raises RoleVarsError naming the variable when a value does not fit the role's argument spec.
    """
    spec = role_spec(role)
    params = {}
    for name, option in spec.items():
        try:
            value = lookup_var(name)
        except KeyError:
            continue
        _survey_text(name, value, option)
        params[name] = value
    result = ArgumentSpecValidator(spec).validate(params)
    if result.error_messages:
        raise RoleVarsError(f"role {role}: " + "; ".join(result.error_messages))
    prefix = role + "_"
    typed = result.validated_parameters
    return {name[len(prefix) :]: value for name, value in typed.items() if name.startswith(prefix)}
