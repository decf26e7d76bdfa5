"""Run a vmbackup.azure Windows fix action plugin in-process against a simulator state file (not shipped).

The action plugin's own code runs unchanged; only ``_execute_module`` is routed to the simulator's
runner (the same emulations, argument validation and check-mode gate the winsim connection uses),
and every module run is logged like the connection does. Used by tests and ``make hostile``; playbook
level tests still go through ansible-playbook and the connection plugin.
"""

from __future__ import annotations

import importlib
import os
from unittest.mock import MagicMock

from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim import manifest, runner

_LOADER_READY = False


def _init_loader():
    global _LOADER_READY
    if not _LOADER_READY:
        from ansible.plugins.loader import init_plugin_loader

        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        init_plugin_loader([os.path.join(root, ".collections")])
        _LOADER_READY = True


class SimHost:
    """Routes module runs of one action plugin to the simulator; records (module, args, check_mode)."""

    def __init__(self, plugin, state_path: str, log_path: str | None = None):
        self.plugin = plugin
        self.state_path = state_path
        self.log_path = log_path or state_path + ".log.jsonl"
        self.calls: list[tuple[str, dict, bool]] = []

    def __call__(self, module_name=None, module_args=None, task_vars=None, **_kwargs):
        task = self.plugin._task
        args = dict(module_args or {})
        args.update(
            _ansible_check_mode=bool(task.check_mode),
            _ansible_diff=bool(task.diff),
            _ansible_no_log=bool(task.no_log),
            _ansible_module_name=module_name,
        )
        self.calls.append((module_name, dict(module_args or {}), bool(task.check_mode)))
        request = manifest.Request(kind="module", module=runner.resolve(module_name), args=args)
        result, check_mode = runner.run_module(request, self.state_path)
        runner.log_line(self.log_path, "sim", request.module, check_mode, result)
        return result


def action_plugin(action: str, args: dict, check_mode=False, diff=False):
    """The ``ActionModule`` of ``vmbackup.azure.<action>`` with stand-ins for the task, connection and templar.

    Set its ``_execute_module`` (to a ``SimHost`` or a test's recorder) before ``run()``.
    """
    module = importlib.import_module(f"ansible_collections.vmbackup.azure.plugins.action.{action}")
    task = MagicMock()
    task.args = dict(args)
    task.check_mode = check_mode
    task.diff = diff
    task.no_log = False
    task.async_val = 0
    task.action = f"vmbackup.azure.{action}"
    connection = MagicMock()
    connection._shell.tmpdir = "/tmp/winsim-driver"
    templar = MagicMock()
    templar.template.side_effect = lambda value, **_kw: value
    plugin = module.ActionModule(task, connection, MagicMock(), loader=None, templar=templar, shared_loader_obj=None)
    plugin._load_name = f"vmbackup.azure.{action}"
    return plugin


def run_fix(action: str, args: dict, state_path: str, check_mode=False, diff=False, task_vars=None):
    """``(result, host)`` of ``vmbackup.azure.<action>`` with ``args`` on the simulated host."""
    _init_loader()
    plugin = action_plugin(action, args, check_mode=check_mode, diff=diff)
    host = SimHost(plugin, state_path)
    plugin._execute_module = host
    result = plugin.run(task_vars=dict(task_vars or {}, inventory_hostname="sim"))
    return result, host
