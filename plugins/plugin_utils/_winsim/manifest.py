# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read what Ansible sends to a PowerShell host through ``exec_command``.

ansible-core (2.19+, ``ansible/executor/powershell/module_manifest.py``) pipes
``<bootstrap JSON>\\n\\0\\0\\0\\0\\n<exec manifest JSON>`` to ``bootstrap_wrapper.ps1``. The exec
manifest holds ``actions`` (the last one, ``module_wrapper.ps1``, names the module script in
``params.Script`` and carries the module args as the ``complex_args`` variable) and ``scripts``
(base64 sources). ansible-core 2.17/2.18 sent one older manifest instead (``module_entry``,
``module_args``, ``actions: [exec]``); both are read. The parser is defensive: it scans for the
pieces instead of trusting positions.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field

SEPARATOR = b"\0\0\0\0"  # 2.19+: surrounded by newlines; older releases: bare
_SCRIPT_RE = re.compile(
    r"^(?:ansible_collections\.)?(?P<ns>\w+)\.(?P<coll>\w+)\.(?:plugins\.modules\.)?(?P<mod>\w+)\.ps1$"
)


@dataclass
class Request:
    """One remote execution."""

    kind: str  # 'module' | 'action' (an exec-wrapper helper like powershell_mkdtemp.ps1) | 'unknown'
    module: str = ""  # FQCN of the module, e.g. ansible.windows.win_regedit
    args: dict = field(default_factory=dict)  # complex_args, including _ansible_* keys
    source: str = ""  # module source (PowerShell), when sent
    action: str = ""  # exec wrapper action name for kind 'action'
    action_params: dict = field(default_factory=dict)
    wrappers: list = field(default_factory=list)  # names of every action (become/async wrappers)


def _json_parts(in_data: bytes) -> list:
    parts = []
    for chunk in in_data.split(SEPARATOR):
        chunk = chunk.strip()
        if not chunk.startswith(b"{"):
            continue
        try:
            parts.append(json.loads(chunk))
        except ValueError:
            continue
    return parts


def _find_complex_args(params: dict):
    for var in params.get("Variables") or []:
        if isinstance(var, dict) and str(var.get("Name", "")).lower() == "complex_args":
            return var.get("Value")
    return None


def _module_from_script(script: str) -> str:
    m = _SCRIPT_RE.match(script or "")
    if m:
        return f"{m.group('ns')}.{m.group('coll')}.{m.group('mod')}"
    return ""


def _decode_script(manifest: dict, name: str) -> str:
    info = (manifest.get("scripts") or {}).get(name)
    if not isinstance(info, dict) or "script" not in info:
        return ""
    try:
        return base64.b64decode(info["script"]).decode("utf-8", errors="replace")
    except (ValueError, TypeError):
        return ""


def parse(in_data: bytes | None) -> Request:
    """Turn the bytes piped to the bootstrap wrapper into a :class:`Request`."""
    if not in_data:
        return Request(kind="unknown")
    manifest = None
    for part in _json_parts(in_data):
        if isinstance(part, dict) and "actions" in part:
            manifest = part
    if manifest is None:
        return Request(kind="unknown")
    if isinstance(manifest.get("module_args"), dict):  # ansible-core < 2.19
        args = dict(manifest["module_args"])
        try:
            source = base64.b64decode(manifest.get("module_entry") or "").decode("utf-8", errors="replace")
        except (ValueError, TypeError):
            source = ""
        return Request(kind="module", module=str(args.get("_ansible_module_name", "")), args=args, source=source)
    actions = [a for a in manifest.get("actions") or [] if isinstance(a, dict)]
    names = [str(a.get("name", "")) for a in actions]
    for action in actions:
        params = action.get("params") or {}
        args = _find_complex_args(params)
        if args is None:
            continue
        script = str(params.get("Script", ""))
        # the resolved script name is the most reliable (routing/short names already resolved)
        module = _module_from_script(script)
        if not module and isinstance(args, dict):
            module = str(args.get("_ansible_module_name", ""))
        return Request(
            kind="module",
            module=module,
            args=dict(args) if isinstance(args, dict) else {},
            source=_decode_script(manifest, script),
            wrappers=names,
        )
    if actions:
        last = actions[-1]
        return Request(kind="action", action=names[-1], action_params=dict(last.get("params") or {}), wrappers=names)
    return Request(kind="unknown")
