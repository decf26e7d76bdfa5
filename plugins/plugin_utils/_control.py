# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Control-plane decisions, made on the controller from what azure.azcollection's info modules read (pure Python).

The roles read with the azure.azcollection ``*_info`` modules, decide here, and change with the
azure.azcollection modules only what this plan lists -- so the decision is exact in check mode (those
modules' own check mode is missing or approximate: ``azure_rm_virtualmachineextension`` declares
``supports_check_mode=False`` and deletes whenever asked, azure.azcollection 3.21.0
azure/azcollection/plugins/modules/azure_rm_virtualmachineextension.py line 236).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ansible_collections.vmbackup.azure.plugins.module_utils._catalog import lookup
from ansible_collections.vmbackup.azure.plugins.module_utils._findings import make_finding

PUBLISHER = "Microsoft.Azure.RecoveryServices"
SNAPSHOT_TYPES = ("VMSnapshot", "VMSnapshotLinux")  # the extensions' manifests (catalog field note)
STUCK_STATES = ("deleting", "failed")


# A lock set on the subscription applies to AzureBackupRG_<region>_1 too (locks are inherited by child scopes) and
# blocks Azure Backup's clean-up there as one on the group would; it also protects everything else in the
# subscription, so the collection names it and never removes it.
INHERITED_FIX = (
    "remove or narrow the lock set above the group yourself (never done here: it protects more than Azure Backup's"
    " resource group), then let Azure Backup clean up"
)


class ControlError(ValueError):
    """Input the plan cannot be made from (the message names it)."""


def control_finding(code, status, detail, fix="", actions=None):
    """The finding every evaluator returns (``make_finding``), with the page's link: a control-plane finding
    is read in Azure, where no guest report adds it."""
    return {**make_finding(code, status, detail, fix, actions), "doc_url": lookup(code).doc_url}


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
        return {
            "finding": control_finding(code, "not_applicable", detail),
            "remove": [],
            "diff": {"before": {}, "after": {}},
        }
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
        return {
            "finding": control_finding(code, "pass", detail),
            "remove": [],
            "diff": {"before": before, "after": before},
        }
    stuck = [e for e in ours if str(e.get("provisioning_state") or "").casefold() in STUCK_STATES]
    if not stuck:
        states = ", ".join(f"{n} {s or 'unknown'}" for n, s in before.items())
        return {
            "finding": control_finding(code, "pass", f"VM {vm}: the backup extension is provisioned ({states})"),
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
        "finding": control_finding(code, "fail", detail, fix, actions),
        "remove": names if uninstall else [],
        "diff": {"before": before, "after": after},
    }


# ---- the control-plane part of the scan: one paged VM list (statusOnly) per subscription ---------------------
POWER_STABLE = ("running", "stopped", "deallocated")
POWER_TRANSITIONAL = ("starting", "stopping", "deallocating")
SCAN_CODES = (
    "UserErrorVmNotInDesirableState",
    "UserErrorVmProvisioningStateFailed",
    "AzureVmOffline",
    "ExtensionStuckInDeletionState",
    "NoVmAgent",
)


def _status(view, prefix):
    """The part after ``<prefix>/`` of the first instance-view status code with that prefix, lowercased."""
    for status in view.get("statuses") or []:
        code = str((status or {}).get("code") or "")
        if code.casefold().startswith(prefix.casefold() + "/"):
            return code.split("/", 1)[1].casefold()
    return ""


def _vm_key(vm):
    parts = str(vm.get("id") or "").split("/")
    lowered = [p.casefold() for p in parts]
    rg = parts[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered else ""
    return rg.casefold(), str(vm.get("name") or "").casefold()


def vm_findings(vm, label):
    """Control-plane findings of one VM from its instance view (VirtualMachines_ListAll, statusOnly=true)."""
    view = (vm.get("properties") or {}).get("instanceView")
    if not isinstance(view, Mapping):
        return [
            control_finding(code, "error", f"VM {label}: Azure returned no instance view; nothing decided")
            for code in SCAN_CODES
        ]
    out = []
    power = _status(view, "PowerState")
    if power in POWER_STABLE:
        out.append(control_finding(SCAN_CODES[0], "pass", f"VM {label} is {power}"))
    elif power in POWER_TRANSITIONAL:
        out.append(
            control_finding(
                SCAN_CODES[0], "fail", f"VM {label} is {power} (transitional)", "wait until it is running, stopped or"
                " deallocated, then run the backup again",
            )
        )  # fmt: skip
    else:
        out.append(
            control_finding(
                SCAN_CODES[0], "error", f"VM {label}: power state {power or 'missing'} is not one Azure documents"
            )
        )
    provisioning = _status(view, "ProvisioningState")
    failed_ext = [
        str(ext.get("name"))
        for ext in view.get("extensions") or []
        if _status(ext or {}, "ProvisioningState") == "failed"
    ]
    if provisioning == "failed":
        detail = f"VM {label}: provisioning state Failed"
        fix = lookup(SCAN_CODES[1]).fix
        if failed_ext:
            detail += f"; failed extension(s): {', '.join(failed_ext)}"
            names = ", ".join(failed_ext)
            fix = (
                f"remove the failed extension(s) {names}, then restart the VM (role"
                f" user_error_vm_provisioning_state_failed, opt-in). {fix}"
            )
        out.append(control_finding(SCAN_CODES[1], "fail", detail, fix))
    elif provisioning:
        out.append(control_finding(SCAN_CODES[1], "pass", f"VM {label}: provisioning state {provisioning}"))
    else:
        out.append(control_finding(SCAN_CODES[1], "error", f"VM {label}: no provisioning state in the instance view"))
    agent = view.get("vmAgent") if isinstance(view.get("vmAgent"), Mapping) else None
    shown = [str((s or {}).get("displayStatus") or "") for s in (agent or {}).get("statuses") or []]
    if agent is None:
        out.append(
            control_finding(SCAN_CODES[2], "fail", f"VM {label}: Azure reports no VM agent", lookup(SCAN_CODES[2]).fix)
        )
    elif "ready" in [s.casefold() for s in shown]:
        out.append(
            control_finding(SCAN_CODES[2], "pass", f"VM {label}: VM agent {agent.get('vmAgentVersion', '?')} Ready")
        )
    else:
        agent_state = ", ".join(s for s in shown if s) or "no status"
        out.append(
            control_finding(SCAN_CODES[2], "fail", f"VM {label}: VM agent {agent_state}", lookup(SCAN_CODES[2]).fix)
        )
    stuck = []
    for ext in view.get("extensions") or []:
        kind = str((ext or {}).get("type") or "").rsplit(".", 1)[-1].casefold()
        if kind in {t.casefold() for t in SNAPSHOT_TYPES} and _status(ext, "ProvisioningState") in STUCK_STATES:
            stuck.append(f"{ext.get('name')} is {_status(ext, 'ProvisioningState')}")
    if stuck:
        out.append(
            control_finding(
                SCAN_CODES[3], "fail", f"VM {label}: backup extension {', '.join(stuck)}", lookup(SCAN_CODES[3]).fix
            )
        )
    else:
        out.append(control_finding(SCAN_CODES[3], "pass", f"VM {label}: no backup extension stuck"))
    out.append(_provision_agent_finding(vm, label))
    return out


def _provision_agent_finding(vm, label):
    """NoVmAgent from the model: ``osProfile.{windows,linux}Configuration.provisionVMAgent`` (compute spec)."""
    profile = (vm.get("properties") or {}).get("osProfile")
    if not isinstance(profile, Mapping):
        return control_finding(
            SCAN_CODES[4],
            "not_applicable",
            f"VM {label} has no osProfile (created from a specialized disk): Azure does not know whether an agent"
            " was provisioned; the guest-side check decides",
        )
    config = profile.get("windowsConfiguration") or profile.get("linuxConfiguration") or {}
    flag = config.get("provisionVMAgent") if isinstance(config, Mapping) else None
    if flag is False:
        return control_finding(
            SCAN_CODES[4], "fail", f"VM {label} was created with provisionVMAgent = false", lookup(SCAN_CODES[4]).fix
        )
    if flag is None:
        return control_finding(SCAN_CODES[4], "not_applicable", f"VM {label}: osProfile does not say provisionVMAgent")
    return control_finding(SCAN_CODES[4], "pass", f"VM {label} was created with provisionVMAgent = true")


RP_CODE = "ExtensionFailedSnapshotLimitReachedError"


def _rg_of(resource_id):
    parts = str(resource_id or "").split("/")
    lowered = [p.casefold() for p in parts]
    return parts[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered[:-1] else ""


def backup_rg_finding(vm, label, locks, collections):
    """Azure Backup's restore point collections live in ``AzureBackupRG_<region>_1``; a lock there stops its
    clean-up (Microsoft's page: remove the lock). Report only: nothing here deletes anything."""
    region = str(vm.get("location") or "").casefold()
    if not region:
        return control_finding(RP_CODE, "error", f"VM {label}: Azure returned no location; AzureBackupRG not checked")
    group = f"AzureBackupRG_{region}_1"
    vm_id = str(vm.get("id") or "").casefold()
    ours = [
        c
        for c in collections
        if _rg_of(c.get("id")).casefold() == group.casefold()
        and str(((c.get("properties") or {}).get("source") or {}).get("id") or "").casefold() == vm_id
    ]
    held = [lock for lock in locks if _rg_of(lock.get("id")).casefold() == group.casefold()]
    above = [str(lock.get("name")) for lock in locks if not _rg_of(lock.get("id"))]  # the subscription's own
    count = f"{len(ours)} restore point collection(s) of this VM there"
    if not held and above:
        return control_finding(
            RP_CODE,
            "fail",
            f"Azure: lock(s) {', '.join(sorted(above))} set on the subscription apply to resource group {group};"
            f" Azure Backup cannot clean up its restore points ({count})",
            INHERITED_FIX,
        )
    if not held:
        return control_finding(RP_CODE, "pass", f"Azure: no lock on resource group {group} ({count})")
    names = ", ".join(f"{lock.get('name')} ({(lock.get('properties') or {}).get('level', '?')})" for lock in held)
    return control_finding(
        RP_CODE,
        "fail",
        f"Azure: resource group {group} is locked by {names}; Azure Backup cannot clean up its restore points"
        f" ({count})",
        f"remove the lock on {group} (Microsoft's step; role extension_failed_snapshot_limit_reached_error with"
        " its opt-in _remove_lock: a lock is a control someone set on purpose, so it is never removed unasked)",
    )


def control_plane_findings(vms, identities, locks=None, collections=None):
    """``{host: [findings]}`` for hosts with an Azure identity ({vm_name, resource_group, resource_id}).

    ``vms`` is every VM of the subscriptions read (vm_status_info); with its ``locks`` and
    ``restore_point_collections`` each host also gets the AzureBackupRG lock finding. A host that names a resource group
    (or resource id) but whose VM is not among them gets an error finding per code; a host that names
    none is not_applicable (the control plane is not configured for it) -- nothing is guessed.
    """
    if not isinstance(vms, Sequence) or isinstance(vms, (str, bytes)):
        raise ControlError(f"expected the list of VMs read from Azure, got {type(vms).__name__}")
    by_key = {_vm_key(vm): vm for vm in vms if isinstance(vm, Mapping)}
    out = {}
    for host, ident in identities.items():
        rg, name = str(ident.get("resource_group") or ""), str(ident.get("vm_name") or host)
        label = f"{rg or '?'}/{name}"
        if not rg:
            out[host] = [
                control_finding(
                    code, "not_applicable", f"not checked in Azure: set vmbackup_azure_resource_group for {host}"
                )
                for code in SCAN_CODES
            ]
            continue
        vm = by_key.get((rg.casefold(), name.casefold()))
        if vm is None:
            out[host] = [
                control_finding(code, "error", f"VM {label} is not in the subscription(s) read; nothing decided")
                for code in SCAN_CODES
            ]
            continue
        out[host] = vm_findings(vm, label)
        if locks is not None and collections is not None:
            out[host].append(backup_rg_finding(vm, label, locks, collections))
    return out
