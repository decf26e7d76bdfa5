# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Control-plane decisions, made on the controller from what azure.azcollection's info modules read (pure Python).

The roles read with the azure.azcollection ``*_info`` modules, decide here, and change with the
azure.azcollection modules only what this plan lists -- so the decision is exact in check mode (those
modules' own check mode is missing or approximate: ``azure_rm_virtualmachineextension`` declares
``supports_check_mode=False`` and deletes whenever asked, azure.azcollection 3.21.0
plugins/modules/azure_rm_virtualmachineextension.py line 236).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ansible_collections.vmbackup.azure.plugins.module_utils._catalog import lookup

PUBLISHER = "Microsoft.Azure.RecoveryServices"
SNAPSHOT_TYPES = ("VMSnapshot", "VMSnapshotLinux")  # the extensions' manifests (catalog field note)
STUCK_STATES = ("deleting", "failed")


class ControlError(ValueError):
    """Input the plan cannot be made from (the message names it)."""


def _finding(code, status, detail, fix="", actions=None):
    return {
        "error_code": code,
        "status": status,
        "detail": detail,
        "fix": fix,
        "doc_url": lookup(code).doc_url,
        "actions": actions or [],
    }


def _vm_found(vm_info, vm):
    """The VM from a registered ``azure_rm_virtualmachine_info`` result; its absence is an error.

    azure_rm_virtualmachineextension_info answers an empty list for a VM that does not exist (it
    swallows ResourceNotFoundError: azure.azcollection 3.21.0 azure_rm_virtualmachineextension_info.py
    ``list_extensions``), so the VM is read first and "no extension" is never planned from a missing VM.
    """
    if not isinstance(vm_info, Mapping) or vm_info.get("failed") or not isinstance(vm_info.get("vms"), Sequence):
        msg = vm_info.get("msg") if isinstance(vm_info, Mapping) else None
        raise ControlError(f"VM {vm} could not be read: {msg or 'no vms list in the result'}")
    if not vm_info["vms"]:
        raise ControlError(f"VM {vm} was not found in the subscription: nothing was decided or changed")
    return vm_info["vms"][0]


def snapshot_extension_plan(info, vm, code="ExtensionStuckInDeletionState", uninstall=False, opt_in="", vm_info=None):
    """The backup extension of one VM, from a registered ``azure_rm_virtualmachineextension_info`` result.

    Returns ``{"finding": ..., "remove": [extension names], "diff": {before, after}}``. Only the Azure Backup
    snapshot extension (publisher Microsoft.Azure.RecoveryServices, type VMSnapshot / VMSnapshotLinux) in
    a Deleting or Failed provisioning state is ever listed; ``remove`` is empty unless ``uninstall``.
    A failed or missing read is an error, never "nothing to do".
    """
    if info is None:  # the host names no resource group: nothing is read, nothing is guessed
        detail = (
            f"not checked: the control plane is not configured for {vm} (set vmbackup_azure_resource_group, and"
            " vmbackup_azure_vm_name when the VM's name differs from the inventory name)"
        )
        return {"finding": _finding(code, "not_applicable", detail), "remove": [], "diff": {"before": {}, "after": {}}}
    if vm_info is not None:
        _vm_found(vm_info, vm)
    if not isinstance(info, Mapping) or info.get("failed") or not isinstance(info.get("extensions"), Sequence):
        msg = info.get("msg") if isinstance(info, Mapping) else None
        raise ControlError(f"the extensions of VM {vm} could not be read: {msg or 'no extensions list in the result'}")
    ours = [
        ext
        for ext in info["extensions"]
        if isinstance(ext, Mapping)
        and str(ext.get("publisher") or "").casefold() == PUBLISHER.casefold()
        and str(ext.get("type") or "").casefold() in {t.casefold() for t in SNAPSHOT_TYPES}
    ]
    others = ", ".join(
        sorted(str(e.get("name")) for e in info["extensions"] if isinstance(e, Mapping) and e not in ours)
    )
    before = {str(e.get("name")): str(e.get("provisioning_state") or "") for e in ours}
    if not ours:
        kinds = " / ".join(SNAPSHOT_TYPES)
        detail = f"VM {vm} has no Azure Backup snapshot extension ({kinds}); the next backup installs it"
        if others:
            detail += f" (other extensions, not touched: {others})"
        return {"finding": _finding(code, "pass", detail), "remove": [], "diff": {"before": before, "after": before}}
    stuck = [e for e in ours if str(e.get("provisioning_state") or "").casefold() in STUCK_STATES]
    if not stuck:
        states = ", ".join(f"{n} {s or 'unknown'}" for n, s in before.items())
        return {
            "finding": _finding(code, "pass", f"VM {vm}: the backup extension is provisioned ({states})"),
            "remove": [],
            "diff": {"before": before, "after": before},
        }
    names = [str(e.get("name")) for e in stuck]
    detail = f"VM {vm}: backup extension " + ", ".join(f"{n} is {before[n]}" for n in names)
    fix = f"uninstall {', '.join(names)} (publisher {PUBLISHER}); the next backup reinstalls it"
    actions = [
        {"action": "uninstall_extension", "extension": n, "disruptive": True, "allowed": bool(uninstall)} for n in names
    ]
    if not uninstall:
        fix = f"would {fix} -- set {opt_in or 'the uninstall opt-in'}: true"
    after = {n: s for n, s in before.items() if n not in names} if uninstall else before
    return {
        "finding": _finding(code, "fail", detail, fix, actions),
        "remove": names if uninstall else [],
        "diff": {"before": before, "after": after},
    }
