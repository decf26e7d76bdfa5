"""The module_utils / plugin_utils rule of docs/architecture.md: module_utils holds only what a module ships."""

from __future__ import annotations

import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLUGINS = os.path.join(ROOT, "plugins")
IMPORT = re.compile(r"plugins\.module_utils(?:\.(_\w+)| import ([\w, ]+))")


def _imports(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    names = set()
    for dotted, listed in IMPORT.findall(text):
        if dotted:
            names.add(dotted)
        else:
            names.update(n.split(" as ")[0].strip() for n in listed.split(","))
    return {n for n in names if n.startswith("_")}


def _py(folder):
    d = os.path.join(PLUGINS, folder)
    return {f[:-3]: os.path.join(d, f) for f in os.listdir(d) if f.endswith(".py") and f != "__init__.py"}


def test_every_module_utils_file_ships_with_a_module():
    utils = _py("module_utils")
    shipped, todo = set(), set()
    for path in _py("modules").values():
        todo |= _imports(path)
    while todo:
        name = todo.pop()
        if name in shipped:
            continue
        assert name in utils, f"a module imports module_utils.{name}, which does not exist"
        shipped.add(name)
        todo |= _imports(utils[name])
    unused = sorted(set(utils) - shipped)
    assert not unused, f"no module imports {unused}: controller-only code belongs in plugins/plugin_utils/"


def test_no_module_utils_file_imports_plugin_utils():
    # a module cannot carry plugin_utils to the host
    for name, path in _py("module_utils").items():
        with open(path, encoding="utf-8") as f:
            assert "plugin_utils" not in re.sub(r"#.*", "", f.read()), name


def test_only_filters_import_filter_plugins():
    # shared controller code lives in plugin_utils (e.g. the OS detector _guest_os.py), never in a filter plugin
    for folder in ("action", "modules", "module_utils", "plugin_utils", "lookup", "connection"):
        for name, path in _py(folder).items():
            with open(path, encoding="utf-8") as f:
                assert "plugins.filter" not in f.read(), f"{folder}/{name}.py imports a filter plugin"


def test_make_help_lists_every_target():
    with open(os.path.join(ROOT, "Makefile"), encoding="utf-8") as f:
        phony = re.search(r"^\.PHONY:(.*)$", f.read(), re.MULTILINE).group(1).split()
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    listed = [line.split()[1] for line in out.splitlines() if line.startswith("make ")]
    assert sorted(listed) == sorted(phony)


def test_module_attributes_say_details_not_description():
    # ansible-core's attribute docs: a module gives ``support`` and ``details`` (``description`` belongs to the
    # fragment that defines the attribute, e.g. action_common_attributes)
    import yaml

    for folder, var in (("modules", "DOCUMENTATION"),):
        for name, path in _py(folder).items():
            with open(path, encoding="utf-8") as f:
                text = f.read()
            match = re.search(var + r' = r?"""(.*?)"""', text, re.DOTALL)
            if not match:
                continue
            attributes = (yaml.safe_load(match.group(1)) or {}).get("attributes") or {}
            for attr, spec in attributes.items():
                assert "description" not in spec, f"{folder}/{name}.py attribute {attr}: description, not details"
