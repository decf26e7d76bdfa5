"""Test helper: the exact payload ansible-core sends over WinRM for a module run."""

from __future__ import annotations

import os
from importlib import import_module


def real_in_data(module: str, args: dict) -> bytes:
    """What ansible-core sends for a module run (built with its own manifest code)."""
    from ansible.executor.powershell.module_manifest import _create_powershell_wrapper

    ns, coll, name = module.split(".")
    pkg = import_module(f"ansible_collections.{ns}.{coll}.plugins.modules")
    path = os.path.join(os.path.dirname(pkg.__file__), f"{name}.ps1")
    with open(path, "rb") as f:
        data = f.read()
    return _create_powershell_wrapper(
        name=f"ansible_collections.{ns}.{coll}.plugins.modules.{name}",
        module_data=data,
        module_path=path,
        module_args={**args, "_ansible_module_name": module},
        environment={},
        async_timeout=0,
        become_plugin=None,
        substyle="powershell",
        task_vars={},
        profile="legacy",
    )
