# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for vmbackup.azure.bitlocker_volumes (fix for ExtensionSnapshotBitlockerError).

Probe ``Get-BitLockerVolume`` (read-only), plan with the scan's evaluator (``_bitlocker.py``),
then - only on opt-in - ``Unlock-BitLocker`` / ``Disable-BitLocker`` in the small scripts of
``plugins/plugin_utils/_windows_scripts.py`` through ``ansible.windows.win_powershell``: the recovery
password is a script parameter (``_ansible_no_log``, result scrubbed), never on a process command
line (docs/architecture.md). ``Disable-BitLocker`` is refused where Azure Disk
Encryption manages the volumes (decrypt through Azure).
"""

from __future__ import annotations

from ansible_collections.vmbackup.azure.plugins.plugin_utils._bitlocker import (
    RecoveryPasswordError,
    assess_bitlocker,
    is_locked,
    normalize_mount_point,
    normalize_recovery_passwords,
)
from ansible_collections.vmbackup.azure.plugins.plugin_utils._security_fix import (
    ResultError,
    SecurityFixAction,
)
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_scripts import BITLOCKER_OFF, BITLOCKER_UNLOCK

ARGUMENT_SPEC = {
    "unlock": {"type": "bool", "default": False},
    "decrypt": {"type": "bool", "default": False},
    "recovery_passwords": {"type": "dict", "default": {}, "no_log": True},
}


def _volumes(probe) -> list[dict]:
    return [v for v in (probe.get("bitlocker") or {}).get("volumes") or [] if isinstance(v, dict)]


def _volumes_text(volumes) -> str:
    return "".join(
        f"{v.get('mount_point')}: {v.get('lock_status')}, {v.get('volume_status')}, protection"
        f" {v.get('protection_status')}\n"
        for v in volumes
    )


class ActionModule(SecurityFixAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    _VALID_ARGS = frozenset(ARGUMENT_SPEC) | {"probe", "verify"}
    PROBE_SECTIONS = ("bitlocker",)
    RESULT_KEYS = {
        "volumes_before": "before",
        "volumes_after": "after",
        "volumes_after_predicted": "after_predicted",
        "performed": "actions",
    }
    SECRET_OPTIONS = ("recovery_passwords",)

    def check_args(self, args):
        try:
            args["recovery_passwords"] = normalize_recovery_passwords(args.get("recovery_passwords"))
        except RecoveryPasswordError as exc:
            raise ValueError(str(exc)) from None
        return args

    def _script(self, task_vars, script, parameters, secret=False) -> dict:
        """A state-changing script of ``_windows_scripts`` through win_powershell: a secret is a parameter."""
        args = {"script": script, "parameters": parameters}
        return self.module("ansible.windows.win_powershell", args, task_vars, secret=secret)

    def fix(self, task_vars, args):
        probe = self.probe(task_vars)
        finding, plan = assess_bitlocker(probe, args)
        out = {"changed": False, "finding": finding}
        if finding["status"] == "error":
            raise ResultError(finding["detail"], **out)
        before = _volumes(probe)
        out.update(
            volumes_before=before,
            volumes_after=before,
            volumes_after_predicted=False,
            unlocked=[],
            decrypted=[],
            performed=[],
            not_allowed=[a for a in finding["actions"] if not a["allowed"]],
        )
        if finding["status"] != "fail":
            return out
        passwords = args["recovery_passwords"]
        for action in plan["actions"]:
            if not action["allowed"]:
                continue
            mount = action["mount_point"]
            if action["action"] == "unlock_volume":
                parameters = {"MountPoint": mount, "RecoveryPassword": passwords[mount]}
                res = self._script(task_vars, BITLOCKER_UNLOCK, parameters, secret=True)
                done = out["unlocked"]
            else:
                res = self._script(task_vars, BITLOCKER_OFF, {"MountPoint": mount})
                done = out["decrypted"]
            if res.get("failed"):
                text = "; ".join(
                    str((err.get("exception") or {}).get("message") or err.get("output") or "")
                    for err in res.get("error") or []
                    if isinstance(err, dict)
                ) or str(res.get("msg") or "failed")
                raise ResultError(f"{action['command']} failed: {self.scrub(text)[-300:]}", **out)
            if res.get("changed"):
                done.append(mount)
                out["performed"].append({"action": action["action"], "mount_point": mount})
                out["changed"] = True

        if self._task.check_mode:
            predicted = []
            for vol in before:
                vol = dict(vol)
                mount = normalize_mount_point(vol.get("mount_point"))
                if mount in out["unlocked"]:
                    vol.update(lock_status="Unlocked", protection_status="On")
                if mount in out["decrypted"]:
                    vol.update(protection_status="Off", volume_status="DecryptionInProgress")
                predicted.append(vol)
            out["volumes_after"] = predicted
            out["volumes_after_predicted"] = True
        elif out["changed"] and self.verifying():
            after = self.probe(task_vars)
            out["volumes_after"] = _volumes(after)
            out["finding_after"] = assess_bitlocker(after, args)[0]
            still = [
                v["mount_point"]
                for v in out["volumes_after"]
                if is_locked(v) and normalize_mount_point(v.get("mount_point")) in out["unlocked"]
            ]
            if still:
                raise ResultError(f"still locked after Unlock-BitLocker: {', '.join(still)}", **out)
        self.warn_not_run(
            task_vars,
            "ExtensionSnapshotBitlockerError",
            [f"{a['action']} {a['mount_point']} ({a.get('reason')})" for a in out["not_allowed"]],
        )
        if self._task.diff:
            out["diff"] = self.fix_diff(
                "BitLocker volumes",
                _volumes_text(before),
                _volumes_text(out["volumes_after"]),
                out["volumes_after_predicted"],
            )
        return out
