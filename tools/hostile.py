"""make hostile: every Windows fix x every simulator fault mode, in --check and for real (not shipped).

Each case copies the fix's failing host state (tools/winfixes.py), switches one fault mode on, runs
the fix's action plugin in-process against the simulator (tools/winsim_driver.py) and classifies:

  ok      the fix did the right thing (fixed and verified, or nothing to do)
  err     the task failed with a message and nothing was changed from misread data
  UNSAFE  a traceback; a check-mode run that changed the state; a state-changing step taken while the
          fault corrupted the data the fix plans from (its plan from the faulted probe differs from the
          plan from the truth); or a pass that is wrong (success while the host still needs the fix)

Prints a table (fault x fix -> check/real) and, last, ``hostile: N cases, 0 unsafe``; exit 1 when any
case is unsafe. Usage: python tools/hostile.py [-v]
"""

from __future__ import annotations

import copy
import hashlib
import os
import sys
import tempfile
import warnings

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
warnings.filterwarnings("ignore")
import conftest  # noqa: E402,F401 - the collection importable from the checkout
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_probe import PROBE_SCRIPT  # noqa: E402
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.probe import probe_output  # noqa: E402
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.state import HostState  # noqa: E402
from winfixes import FIXES  # noqa: E402
from winsim_driver import run_fix  # noqa: E402

STATES = os.path.join(ROOT, "tests", "sim", "states")
MK = "C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys"
SERVICES_KEY = "HKLM:\\SYSTEM\\CurrentControlSet\\Services\\"


def _every_service(data, value):
    return {name: value for name in (data.get("services") or {})}


def _writers(data, key, value):
    for writer in data.get("vss_writers") or []:
        writer[key] = value


def _deny(data):
    keys = [SERVICES_KEY + name for name in data.get("services") or {}] + [MK]
    keys += list((data.get("registry") or {}).keys())
    data.setdefault("faults", {})["access_denied"] = keys


def _missing_dependency(data):
    for svc in (data.get("services") or {}).values():
        svc.setdefault("dependencies", []).append("RemovedDriver")
        break


# fault name -> how it changes a state (a dict loaded from the fix's state file)
FAULTS = {
    "none": lambda data: None,
    "probe_throws": lambda data: data.setdefault("faults", {}).update(probe_throws="Access is denied"),
    "section_throws": lambda data: data.setdefault("faults", {}).update(
        section_throws=dict.fromkeys(
            (
                "services",
                "vssadmin",
                "registry",
                "agent",
                "installer",
                "machinekeys_acl",
                "certificates_my",
                "bitlocker",
                "extension_status",
            ),
            'Exception calling "OpenSubKey": "Requested registry access is not allowed."',
        )  # fmt: skip
    ),
    "wmi_broken": lambda data: data.setdefault("faults", {}).update(wmi_broken=True),
    "access_denied": _deny,
    "missing_dependency": _missing_dependency,
    "vssadmin_oem_as_utf8": lambda data: data.setdefault("faults", {}).update(vssadmin_oem_as_utf8=True),
    "writer_late": lambda data: _writers(data, "reregister", 1),
    "writer_never": lambda data: _writers(data, "reregister", "never"),
    "service_timeout": lambda data: data.setdefault("faults", {}).update(service_timeout=_every_service(data, "stop")),
    "localized_de": lambda data: data.update(locale="de-DE"),
}


def _sha(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _allowed(finding):
    return sorted(str(sorted(a.items())) for a in finding.get("actions") or [] if a.get("allowed"))


def _truth(data):
    """The state without its fault modes (what the host really is)."""
    clean = copy.deepcopy(data)
    clean.pop("faults", None)
    return clean


def _evaluate(fix, data, workdir):
    path = os.path.join(workdir, "eval.yml")
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle, allow_unicode=True)
    try:
        probe = probe_output(HostState.load(path), PROBE_SCRIPT)
    except Exception as exc:  # noqa: BLE001 - a probe that throws: no data at all
        return {"status": "error", "detail": str(exc), "actions": []}
    if (data.get("faults") or {}).get("probe_throws"):
        return {"status": "error", "detail": "probe throws", "actions": []}
    try:
        return fix["evaluate"](probe, fix["options"])
    except Exception as exc:  # noqa: BLE001 - an evaluator that crashes on this data decides nothing
        return {"status": "error", "detail": f"evaluator raised {exc!r}", "actions": []}


def run_case(fix, fault, check, workdir):
    with open(os.path.join(STATES, fix["state"]), encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    FAULTS[fault](data)
    path = os.path.join(workdir, f"{fix['action']}-{fault}-{'check' if check else 'real'}.yml")
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle, allow_unicode=True)
    before = _sha(path)
    # the data the fix plans from is misread when its plan from the faulted probe differs from the truth's
    misread = _allowed(_evaluate(fix, data, workdir)) != _allowed(_evaluate(fix, _truth(data), workdir))
    result, host = run_fix(fix["action"], fix["options"], path, check_mode=check)
    msg = str(result.get("msg") or "")
    with open(path, encoding="utf-8") as handle:
        after = yaml.safe_load(handle)
    if result.get("exception"):
        return "UNSAFE", "traceback: " + msg
    if check and _sha(path) != before:
        return "UNSAFE", "check mode changed the host state"
    changed_state = _sha(path) != before
    if misread and (changed_state or (check and result.get("changed"))):
        return "UNSAFE", "changed the host from misread data: " + (msg or "no error")
    if not result.get("failed"):
        if check:
            return "ok", ""
        if any(w.get("unlisted") for w in after.get("vss_writers") or []) and fix["action"] == "vss_writers":
            return "UNSAFE", "success although a restarted writer never re-registered"
        truth_after = _evaluate(fix, _truth(after), workdir)
        if truth_after["status"] == "fail" and _allowed(truth_after):
            return "UNSAFE", "success while the host still needs the fix: " + truth_after["detail"][:120]
        return "ok", ""
    if not msg:
        return "UNSAFE", "failed without a message"
    return "err", msg


def main(argv):
    verbose = "-v" in argv
    rows, notes, cases, unsafe = [], [], 0, 0
    with tempfile.TemporaryDirectory(prefix="hostile-") as workdir:
        for fault in FAULTS:
            row = [fault]
            for fix in FIXES:
                cell = []
                for check in (True, False):
                    verdict, why = run_case(fix, fault, check, workdir)
                    cases += 1
                    unsafe += verdict == "UNSAFE"
                    cell.append(verdict)
                    if verdict == "UNSAFE" or (verbose and why):
                        mode = "check" if check else "real"
                        notes.append(f"{verdict} {fault} x {fix['action']} ({mode}): {why[:160]}")
                row.append("/".join(cell))
            rows.append(row)
    header = ["fault \\ fix (check/real)"] + [fix["action"] for fix in FIXES]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for line in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
    print()
    print("ok = correct; err = failed with a message, nothing changed from misread data; UNSAFE = see tools/hostile.py")
    for note in notes:
        print(note)
    print(f"hostile: {cases} cases, {unsafe} unsafe")
    return 1 if unsafe else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
