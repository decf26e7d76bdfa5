# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ExtensionFailedSnapshotLimitReachedError in Azure: the resource group ``AzureBackupRG_<region>_1`` (pure Python).

Azure Backup keeps each VM's restore point collection in ``AzureBackupRG_<region>_1``; a lock on that
resource group stops its clean-up (Microsoft's step: remove the lock). The role reads the VM
(azure_rm_virtualmachine_info) and the group (module backup_rg_info: its locks and restore point
collections, every page), decides here, and changes only what this plan lists:

- ``remove_locks``: locks whose scope is the group or a resource in it (never one inherited from the
  subscription), only with the opt-in; each is named with its scope, level, notes and owners so a person
  can set it again -- the role does not re-create it.
- ``delete``: restore points in collections of that group whose ``source.id`` is this VM and whose name
  has the shape ``AzureBackup_<vm>_<digits>``, only with the opt-in. That name shape is OUR ASSUMPTION
  (the shape seen on collections Azure Backup made; no Microsoft page we found documents it), so a
  collection of another shape is reported and never touched.

Nothing is decided from a read that failed or is missing: the finding is ``error`` naming it, and the
plan changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ansible_collections.vmbackup.azure.plugins.plugin_utils._control import INHERITED_FIX, ControlError, _vm_found
from ansible_collections.vmbackup.azure.plugins.plugin_utils._control import control_finding as _control_finding

CODE = "ExtensionFailedSnapshotLimitReachedError"
LOCKS = "/providers/microsoft.authorization/locks/"
STATUS_RANK = {"not_applicable": 0, "pass": 1, "fail": 2, "error": 3}


class BackupRgError(ValueError):
    """Input the plan cannot be made from (the message names it)."""


def _finding(status, detail, fix="", actions=None):
    return _control_finding(CODE, status, detail, fix, actions)


def _empty(finding):
    return {"finding": finding, "remove_locks": [], "delete": [], "diff": {"before": {}, "after": {}}}


def backup_rg_name(location):
    """``AzureBackupRG_<region>_1`` for a VM location (as the scan's finding names it)."""
    return f"AzureBackupRG_{str(location).casefold()}_1"


def lock_scope(lock_id):
    """The scope a lock is set on: its id without ``/providers/Microsoft.Authorization/locks/<name>``."""
    text = str(lock_id or "")
    cut = text.casefold().rfind(LOCKS)
    return text[:cut] if cut > 0 else ""


def _under(resource_id, group_id):
    rid, gid = str(resource_id or "").casefold().rstrip("/"), group_id.casefold()
    return rid == gid or rid.startswith(gid + "/")


def _failed(result):
    """A registered result that failed, also when a ``failed_when`` hid it (the exception or failure kind stays)."""
    keys = ("failed", "exception", "failed_when_suppressed_exception", "failure_kind")
    return not isinstance(result, Mapping) or any(result.get(key) for key in keys)


def _vm(vm_info, label):
    """The VM (id, location) from azure_rm_virtualmachine_info, as the extension roles read it (_control._vm_found)."""
    if _failed(vm_info):
        msg = vm_info.get("msg") if isinstance(vm_info, Mapping) else None
        raise BackupRgError(f"VM {label} could not be read: {msg or 'no vms list in the result'}")
    try:
        vm = _vm_found(vm_info, label)
    except ControlError as exc:
        raise BackupRgError(str(exc).replace(": nothing was decided or changed", "")) from None
    for key in ("id", "location"):
        if not (vm or {}).get(key):
            raise BackupRgError(f"VM {label}: Azure returned no {key}")
    return vm


def _lock_entry(lock):
    props = lock.get("properties") or {}
    return {
        "name": str(lock.get("name") or ""),
        "id": str(lock.get("id") or ""),
        "scope": lock_scope(lock.get("id")),
        "level": str(props.get("level") or ""),
        "notes": str(props.get("notes") or ""),
        "owners": [str((o or {}).get("applicationId") or "") for o in props.get("owners") or []],
    }


def _collection_name_re(vm_name):
    return re.compile(rf"^AzureBackup_{re.escape(vm_name)}_\d+$", re.IGNORECASE)


def backup_rg_plan(
    info,
    label,
    vm_info=None,
    remove_lock=False,
    delete_restore_points=False,
    lock_opt_in="",
    delete_opt_in="",
):
    """The plan for one VM from a registered azure_rm_virtualmachine_info result and a backup_rg_info result.

    ``info`` None: the host names no resource group (not_applicable, nothing read). Returns
    ``{finding, remove_locks: [lock entries], delete: [restore point ids], diff}``; both lists are
    empty unless their opt-in is given (the role passes them false in check mode).
    """
    if info is None:
        return _empty(
            _finding(
                "not_applicable",
                f"not checked in Azure: the control plane is not configured for {label} (set"
                " vmbackup_azure_resource_group, and vmbackup_azure_vm_name when the VM's name differs)",
            )
        )
    try:
        vm = _vm(vm_info, label)
    except BackupRgError as exc:
        return _empty(_finding("error", f"{exc}; nothing decided or changed"))
    group = backup_rg_name(vm["location"])
    if _failed(info):
        msg = info.get("msg") if isinstance(info, Mapping) else None
        return _empty(
            _finding("error", f"resource group {group} could not be read: {msg or 'no result'}; nothing changed")
        )
    for key in ("locks", "restore_point_collections"):
        if not isinstance(info.get(key), Sequence) or isinstance(info.get(key), (str, bytes)):
            return _empty(_finding("error", f"resource group {group}: the {key} list is missing; nothing changed"))
    if info.get("resource_group_found") is False:
        return _empty(
            _finding("pass", f"Azure: resource group {group} does not exist (no backup has made restore points yet)")
        )
    group_id = "/".join(str(vm["id"]).split("/")[:3]) + f"/resourceGroups/{group}"
    held = [
        _lock_entry(lk)
        for lk in info["locks"]
        if isinstance(lk, Mapping) and _under(lock_scope(lk.get("id")), group_id)
    ]
    inherited = [
        str(lk.get("name"))
        for lk in info["locks"]
        if isinstance(lk, Mapping) and not _under(lock_scope(lk.get("id")), group_id)
    ]
    vm_id = str(vm["id"]).casefold()
    shape = _collection_name_re(str(vm.get("name") or label.rsplit("/", 1)[-1]))
    ours, other_shape, points = [], [], []
    for coll in info["restore_point_collections"]:
        if not isinstance(coll, Mapping):
            continue
        props = coll.get("properties") or {}
        if str((props.get("source") or {}).get("id") or "").casefold() != vm_id:
            continue  # another VM's collection (or one without a source): never touched
        if not _under(coll.get("id"), group_id) or not shape.match(str(coll.get("name") or "")):
            other_shape.append(str(coll.get("name")))
            continue
        if not isinstance(props.get("restorePoints"), Sequence):
            return _empty(
                _finding(
                    "error",
                    f"resource group {group}: collection {coll.get('name')} was read without its restore points;"
                    " nothing changed",
                )
            )
        ours.append(str(coll.get("name")))
        points += [str(rp.get("id")) for rp in props["restorePoints"] if isinstance(rp, Mapping) and rp.get("id")]
    before = {"locks": sorted(lk["id"] for lk in held), "restore_points": sorted(points)}
    count = f"{len(points)} restore point(s) of this VM in {len(ours)} Azure Backup collection(s) there"
    if other_shape:
        count += f"; not Azure Backup's by name, never touched: {', '.join(sorted(other_shape))}"
    if inherited:
        count += f"; locks set above the group, never removed here: {', '.join(sorted(inherited))}"
    actions, fixes = [], []
    remove = held if remove_lock else []
    # A lock above the group (the subscription's) applies to it too: Azure refuses the deletes, so none is planned.
    delete = sorted(points) if (delete_restore_points and held == remove and not inherited) else []
    for lk in held:
        actions.append(
            {
                "action": "remove_lock",
                "lock": lk["name"],
                "scope": lk["scope"],
                "level": lk["level"],
                "disruptive": True,
                "allowed": bool(remove_lock),
            }
        )
    if held:
        names = ", ".join(f"{lk['name']} ({lk['level'] or '?'})" for lk in held)
        step = f"remove the lock(s) {names} on {group} (not re-created: set again by hand if you want it back)"
        fixes.append(step if remove_lock else f"would {step} -- set {lock_opt_in or 'the lock opt-in'}: true")
    if points and held:
        actions.append(
            {"action": "delete_restore_points", "count": len(points), "disruptive": True, "allowed": bool(delete)}
        )
        step = f"delete {len(points)} restore point(s) of this VM in {', '.join(ours)}"
        if delete:
            fixes.append(step)
        elif delete_restore_points and inherited:
            fixes.append(f"would {step} once no lock applies to {group}")
        elif delete_restore_points:
            fixes.append(f"would {step} once the lock is gone -- set {lock_opt_in or 'the lock opt-in'}: true")
        else:
            fixes.append(f"would {step} -- set {delete_opt_in or 'the restore point opt-in'}: true")
    after = {
        "locks": sorted(lk["id"] for lk in held if lk not in remove),
        "restore_points": sorted(p for p in points if p not in delete),
    }
    plan = {"remove_locks": remove, "delete": delete, "diff": {"before": before, "after": after}}
    if not held and not inherited:  # as the scan's finding (_control.backup_rg_finding)
        plan["finding"] = _finding("pass", f"Azure: no lock on resource group {group} ({count})")
        plan["delete"] = []
        plan["diff"]["after"] = before
        return plan
    if not held:  # only a lock set above the group: it blocks Azure Backup's clean-up too, and is never ours to remove
        plan["finding"] = _finding(
            "fail",
            f"Azure: lock(s) {', '.join(sorted(inherited))} set above resource group {group} apply to it;"
            f" Azure Backup cannot clean up its restore points ({count})",
            INHERITED_FIX,
        )
        plan["delete"] = []
        plan["diff"]["after"] = before
        return plan
    names = ", ".join(f"{lk['name']} ({lk['level'] or '?'}, scope {lk['scope']})" for lk in held)
    plan["finding"] = _finding(
        "fail",
        f"Azure: resource group {group} is locked by {names}; Azure Backup cannot clean up its restore points"
        f" ({count})",
        "; ".join(fixes),
        actions,
    )
    return plan


def _failures(results, what):
    out = []
    for res in (results or {}).get("results") or []:
        if isinstance(res, Mapping) and _failed(res):
            item = res.get("item")
            name = item.get("id") if isinstance(item, Mapping) else item
            out.append(f"{what} {name}: {res.get('msg') or 'failed'}")
    return out


def _changed(results):
    return any(isinstance(r, Mapping) and r.get("changed") for r in (results or {}).get("results") or [])


def backup_rg_result(plan, removed=None, deleted=None, guest=None):
    """``<role>_result`` from the plan, the registered loops that changed Azure, and the guest's result.

    A failed removal or deletion makes the finding ``error`` naming the resource (an error outranks
    "changed"; what did change is still reported changed). With a guest result (Linux:
    vmbackup_conf) both findings are kept (``findings``) and ``finding`` is the worse of the two.
    """
    if not isinstance(plan, Mapping) or not isinstance(plan.get("finding"), Mapping):
        raise BackupRgError("backup_rg_result expects the plan of backup_rg_plan")
    finding = dict(plan["finding"])
    failures = _failures(removed, "removing lock") + _failures(deleted, "deleting restore point")
    if failures:
        finding["status"] = "error"
        finding["detail"] = f"{finding['detail']}; FAILED: {'; '.join(failures)}"
    changed = _changed(removed) or _changed(deleted)
    removed_locks = [
        {k: lk.get(k) for k in ("name", "scope", "level", "notes", "owners")}
        for lk, res in zip(plan.get("remove_locks") or [], (removed or {}).get("results") or [], strict=False)
        if isinstance(res, Mapping) and res.get("changed") and not _failures({"results": [res]}, "")
    ]
    control = {"finding": finding, "diff": plan.get("diff"), "removed_locks": removed_locks, "changed": changed}
    guest_ok = isinstance(guest, Mapping) and isinstance(guest.get("finding"), Mapping) and not guest.get("skipped")
    if not guest_ok:
        return {**control, "findings": [finding]}
    worst = max((guest["finding"], finding), key=lambda f: STATUS_RANK.get(str(f.get("status")), 3))
    return {
        **guest,
        "changed": bool(guest.get("changed")) or changed,
        "finding": worst,
        "findings": [guest["finding"], finding],
        "control": control,
        "removed_locks": removed_locks,
    }
