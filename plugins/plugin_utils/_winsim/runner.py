# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One remote execution on a simulated Windows host, end to end.

parse the manifest -> validate the args against the installed docs -> check-mode gate ->
load the state -> emulate -> save the state (only if changed and not check mode) -> log one
JSON line -> return what the module would print on stdout.
"""

from __future__ import annotations

import base64
import json
import ntpath
import re
import time

from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim import args as argspec
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim import docs, manifest
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.modules import EMULATIONS, Context
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.state import HostState, StateError

# Assumption: what %TEMP% and ~ expand to for the few exec-wrapper helpers answered below.
USER_PROFILE = "C:\\Users\\azureadmin"
TEMP_DIR = USER_PROFILE + "\\AppData\\Local\\Temp"


def _bool(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).lower() in argspec.BOOLEANS_TRUE


def run_module(req: manifest.Request, state_path: str) -> tuple[dict, bool]:
    """Return ``(result, check_mode)`` for a module request. Never raises for module-level errors."""
    module = req.module
    raw = dict(req.args)
    check_mode = _bool(raw.get("_ansible_check_mode", False))
    diff_mode = _bool(raw.get("_ansible_diff", False))
    # Ansible.Basic names the module by _ansible_module_name in its messages
    shown = str(raw.get("_ansible_module_name") or module)
    emulate = EMULATIONS.get(module)
    if emulate is None:
        return {"failed": True, "changed": False, "msg": f"simulator: module not modelled: {module}"}, check_mode
    try:
        doc = docs.module_doc(module)
    except docs.DocError as e:
        return {"failed": True, "changed": False, "msg": str(e)}, check_mode
    params = dict(raw)
    control: dict = {}
    try:
        control = argspec.check_unsupported(doc.options, params, shown)
        if check_mode and not docs.supports_check_mode(doc, req.source):
            return {
                "changed": False,
                "skipped": True,
                "msg": f"remote module ({shown}) does not support check mode",
            }, check_mode
        argspec.validate(doc.options, params)
        state = HostState.load(state_path)
        ctx = Context(params=params, state=state, check_mode=check_mode, diff_mode=diff_mode, module=module)
        result = emulate(ctx)
        if state.dirty and not check_mode:
            state.save()
    except argspec.ModuleExit as e:
        result = e.result
    except StateError as e:
        result = {"failed": True, "changed": False, "msg": str(e)}
    result.setdefault("changed", False)
    if not diff_mode:
        result.pop("diff", None)
    if _bool(control.get("inject_invocation", False)):
        result.setdefault("invocation", {"module_args": argspec.redact(params, doc.options)})
    return result, check_mode


def resolve(module: str) -> str:
    """A short module name (older ansible-core) -> the FQCN among the collections we emulate."""
    if "." in module:
        return module
    for collection in ("ansible.windows", "community.windows"):
        if f"{collection}.{module}" in EMULATIONS:
            return f"{collection}.{module}"
    return module


def run_action(req: manifest.Request) -> tuple[int, bytes, bytes]:
    """Exec-wrapper helpers ansible runs when a connection does not pipeline (kept plausible)."""
    params = req.action_params
    if req.action == "powershell_mkdtemp.ps1":
        base = str(params.get("Directory") or TEMP_DIR).replace("%TEMP%", TEMP_DIR).replace("%TMP%", TEMP_DIR)
        return 0, (ntpath.join(base, str(params.get("Name", "ansible-tmp"))) + "\r\n").encode(), b""
    if req.action == "powershell_expand_user.ps1":
        path = str(params.get("Path", "~"))
        if path == "~":
            out = USER_PROFILE
        elif path.startswith("~\\"):
            out = ntpath.join(USER_PROFILE, path[2:])
        else:
            out = path
        return 0, (out + "\r\n").encode(), b""
    return 1, b"", f"simulator: exec wrapper action not modelled: {req.action}".encode()


def log_line(log_path: str, host: str, module: str, check_mode: bool, result: dict) -> None:
    """Append one JSON line. Never the module args: they may hold passwords."""
    line = {
        "host": host,
        "module": module,
        "check_mode": bool(check_mode),
        "changed": bool(result.get("changed", False)),
        "failed": bool(result.get("failed", False)),
        "time": round(time.time(), 3),
    }
    with open(log_path, "a", encoding="utf-8") as f:
        f.write(json.dumps(line, sort_keys=False) + "\n")


def execute(cmd: str, in_data: bytes | None, state_path: str, log_path: str, host: str) -> tuple[int, bytes, bytes]:
    """The connection's ``exec_command``."""
    req = manifest.parse(in_data)
    if req.kind == "module":
        req.module = resolve(req.module)
        result, check_mode = run_module(req, state_path)
        log_line(log_path, host, req.module, check_mode, result)
        rc = 1 if result.get("failed") else 0
        return rc, json.dumps(result).encode(), b""
    if req.kind == "action":
        return run_action(req)
    script = _decode_command(cmd)
    if re.match(r"^\s*Remove-Item\b", script, re.IGNORECASE):  # cleanup of a remote tmp dir
        return 0, b"", b""
    return 1, b"", f"simulator: command not modelled: {script[:200]}".encode()


def _decode_command(cmd: str) -> str:
    """The script of ``powershell ... -EncodedCommand <base64 UTF-16-LE>``, else ``cmd`` itself."""
    m = re.search(r"-EncodedCommand\s+'?([A-Za-z0-9+/=]+)'?", cmd or "")
    if not m:
        return cmd or ""
    try:
        return base64.b64decode(m.group(1)).decode("utf-16-le", errors="replace")
    except ValueError:
        return cmd
