# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``win_ping``, ``win_command``/``win_shell`` (a small whitelist) and ``win_powershell``
(the vmbackup.azure probe and our BitLocker scripts, recognised by their marker lines).

win_powershell follows ansible.windows ``win_powershell.ps1``: in check mode a script without
``[CmdletBinding(SupportsShouldProcess)]`` is not run and the module returns
``changed: true, msg: "skipped, running in check mode"`` (no ``skipped`` key: that is what the
module does). ``output`` goes through the module's ``depth`` limit (default 2) like
``Convert-OutputObject``: beyond it, lists become space-joined strings and objects become their
type name (we render ``System.Collections.Hashtable``; a ``[pscustomobject]`` would print
``@{...}`` on Windows). So a probe that forgets ``depth:`` fails here as it would on Windows.
"""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime

from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim import faults, files, packages, probe, security
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.args import fail

PROBE_MARKER = probe.PROBE_MARKER
_SHOULD_PROCESS_RE = re.compile(
    r"\[CmdletBinding\((?:[\w=\$]+,\s*)?SupportsShouldProcess(?:=\$true)?(?:,\s*[\w=\$]+)?\)\]", re.IGNORECASE
)


def win_ping(ctx) -> dict:
    data = ctx.params.get("data")
    if data == "crash":  # win_ping.ps1 throws on purpose
        raise fail("Unhandled exception while executing module: boom")
    return {"changed": False, "ping": data}


def _words(cmd: str) -> list[str]:
    try:
        words = shlex.split(cmd.replace("\\", "/"), posix=True)
    except ValueError:
        words = cmd.split()
    return [w.lower() for w in words]


def _run_whitelisted(state, cmd: str) -> tuple[int, str, str]:
    """The commands the simulator knows. Anything else fails clearly."""
    words = _words(cmd)
    if words and re.sub(r"^.*/", "", words[0]) in ("vssadmin", "vssadmin.exe") and words[1:] == ["list", "writers"]:
        rc, out = probe.vss_writers_output(state)
        return rc, out, ""
    if words in (["hostname"], ["hostname.exe"]):
        return 0, state.hostname + "\r\n", ""
    answered = packages.msiexec(state, words)  # msiexec /unregister, /regserver
    if answered is not None:
        return answered
    answered = security.run_command(state, words)  # msdtc -uninstall/-install, manage-bde -unlock/-off
    if answered is not None:
        return answered
    raise fail(f"simulator: command not modelled: {cmd}")


def _creates_removes(ctx) -> dict | None:
    p = ctx.params
    if p.get("creates") and files.find_file(ctx.state, p["creates"]) is not None:
        return {"changed": False, "skipped": True, "msg": f"skipped, since {p['creates']} exists"}
    if p.get("removes") and files.find_file(ctx.state, p["removes"]) is None:
        return {"changed": False, "skipped": True, "msg": f"skipped, since {p['removes']} does not exist"}
    return None


def _command_result(ctx, cmd: str, with_stderr_lines: bool) -> dict:
    skipped = _creates_removes(ctx)
    if skipped:
        return skipped
    start = datetime.now(UTC)
    rc, out, err = _run_whitelisted(ctx.state, cmd)
    end = datetime.now(UTC)
    result = {
        "changed": True,
        "cmd": cmd,
        "rc": rc,
        "stdout": out,
        "stderr": err,
        "stdout_lines": out.splitlines(),
        "start": start.strftime("%Y-%m-%d %H:%M:%S.%f"),
        "end": end.strftime("%Y-%m-%d %H:%M:%S.%f"),
        "delta": str(end - start),
    }
    if with_stderr_lines:
        result["stderr_lines"] = err.splitlines()
    if rc != 0:
        result["failed"] = True
        result["msg"] = "non-zero return code"
    return result


def win_command(ctx) -> dict:
    p = ctx.params
    argv = p.get("argv")
    cmd = " ".join(str(a) for a in argv) if argv else (p.get("cmd") or p.get("_raw_params") or "")
    if not cmd:
        raise fail("one of the following is required: _raw_params, cmd, argv")
    return _command_result(ctx, str(cmd), with_stderr_lines=True)


def win_shell(ctx) -> dict:
    # ansible.windows >= 3 documents ``cmd``; older releases document ``free_form`` (``_raw_params``).
    cmd = ctx.params.get("cmd") or ctx.params.get("_raw_params") or ""
    return _command_result(ctx, str(cmd).strip(), with_stderr_lines=False)


def ps_convert(obj, depth: int):
    """Convert-OutputObject (win_powershell.ps1), for the JSON-like values we produce."""
    if obj is None or isinstance(obj, (str, bool, int, float)):
        return obj
    if depth < 0:
        if isinstance(obj, (list, tuple)):
            return " ".join(str(ps_convert(x, -1)) for x in obj)
        return "System.Collections.Hashtable"
    if isinstance(obj, (list, tuple)):
        return [ps_convert(x, depth - 1) for x in obj]
    if isinstance(obj, dict):
        return {str(k): ps_convert(v, depth - 1) for k, v in obj.items()}
    return str(obj)


def win_powershell(ctx) -> dict:
    p = ctx.params
    script = p.get("script")
    if script is None:
        raise fail("simulator: script not modelled: win_powershell with 'path' (only inline scripts are simulated)")
    if p.get("creates") and files.find_file(ctx.state, p["creates"]) is not None:
        return {"changed": False, "msg": f"skipped, since {p['creates']} exists"}
    if p.get("removes") and files.find_file(ctx.state, p["removes"]) is None:
        return {"changed": False, "msg": f"skipped, since {p['removes']} does not exist"}
    if ctx.check_mode and not _SHOULD_PROCESS_RE.search(script):
        return {"changed": True, "msg": "skipped, running in check mode"}
    kind = security.script_kind(script)
    if kind is None and not any(line.strip() == PROBE_MARKER for line in script.splitlines()):
        raise fail(f"simulator: script not modelled (only scripts with the line '{PROBE_MARKER}' are simulated)")
    depth = p.get("depth")
    result = {
        "changed": False,
        "result": {},
        "host_out": "",
        "host_err": "",
        "output": [],
        "error": [],
        "warning": [],
        "verbose": [],
        "debug": [],
        "information": [],
    }
    if kind is not None:  # a state-changing script of ours (BitLocker): secrets arrive as parameters
        return security.bitlocker_script(ctx.state, kind, p.get("parameters") or {}, ctx.check_mode, result)
    thrown = faults.fault(ctx.state, "probe_throws")
    if thrown:
        # A terminating error in the script: win_powershell.ps1 (ansible.windows 3.x) catches the
        # RuntimeException (lines 950-959), sets failed, adds the ErrorRecord to the error stream and
        # still returns output/error/... (lines 1005-1044): no 'msg', error_details null.
        result["failed"] = True
        result["error"] = [faults.error_record(str(thrown))]
        return result
    try:
        output = probe.probe_output(ctx.state, script, p.get("parameters"))
    except probe.ProbeNotModelled as exc:
        raise fail(str(exc)) from None
    result["output"] = ps_convert([output], 2 if depth is None else int(depth))
    return result
