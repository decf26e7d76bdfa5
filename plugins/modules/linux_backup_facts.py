#!/usr/bin/python
# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: linux_backup_facts
short_description: Gather, in one run, every fact the Linux checks of the Azure Backup scan need
version_added: 0.1.0
description:
  - The Linux side of M(vmbackup.azure.backup_scan)'s single remote execution per host. Returns
    C(ansible_facts.vmbackup_linux); the checks decide on the controller.
  - C(vmbackup_linux.ext_filesystems), the state of mounted ext2/ext3/ext4 filesystems, and
    C(other_filesystems), the health of mounted xfs/btrfs (C(UserErrorFsFreezeFailed)).
  - C(vmbackup_conf), the text of C(/etc/azure/vmbackup.conf) and the owner/mode of
    C(VMSnapshotPluginHost.conf) (C(ExtensionFailedSnapshotLimitReachedError); also the C(mountstoskip) the
    freeze check honours).
  - C(agent), the Azure Linux agent - package, version, service, C(/etc/waagent.conf), mount of C(/var/lib/waagent),
    DMI identity (C(VmAgentNotRunning), C(NoVmAgent), C(AzureVmOffline), C(UserErrorVmProvisioningStateFailed)).
  - C(conditions), report-only conditions - NIC DHCP configuration, resolution of O(azure_endpoint_names), CPU and
    memory use, the newest status file of the backup extension. Skipped off Azure unless O(azure_only=false).
  - Later versions add keys; consumers ignore keys they do not know.
  - Reads only. Needs root (C(become=true)) to read superblocks with C(tune2fs -l).
options:
  ext_mounts:
    description:
      - Absolute mount points to report in C(ext_filesystems) and C(other_filesystems). Empty means every
        mounted ext2/ext3/ext4, xfs and btrfs filesystem.
    type: list
    elements: path
    default: []
  ext_pending_file:
    description:
      - The record of filesystems a repair by M(vmbackup.azure.ext_filesystems) unmounted and did not mount
        again (its O(vmbackup.azure.ext_filesystems#module:pending_file)); they are listed in C(ext_filesystems)
        with C(pending_remount).
    type: path
    default: /var/lib/vmbackup-azure/ext_filesystems-pending.json
  vmbackup_conf_path:
    description: The backup extension's configuration file.
    type: path
    default: /etc/azure/vmbackup.conf
  waagent_conf_path:
    description: The Azure Linux agent's configuration file (its C(Lib.Dir) locates the extension's status files).
    type: path
    default: /etc/waagent.conf
  azure_endpoint_names:
    description: DNS names to resolve for C(conditions.dns) (the scan passes C(vmbackup_azure_endpoint_names)).
    type: list
    elements: str
    default: []
  azure_only:
    description:
      - Gather C(conditions) only on Azure VMs (DMI chassis asset tag); off Azure no DNS lookup is made.
    type: bool
    default: true
  cpu_sample_seconds:
    description: How long to sample C(/proc/stat) for the CPU use.
    type: float
    default: 0.5
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.facts
attributes:
  check_mode:
    support: full
    details: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    details: Reads only; there is nothing to compare.
  facts:
    support: full
    details: Returns C(ansible_facts.vmbackup_linux).
  platform:
    support: full
    platforms: posix
    details: Linux guests (ext2/ext3/ext4, e2fsprogs, util-linux).
requirements:
  - e2fsprogs (C(tune2fs)) on the managed host; xfsprogs (C(xfs_info)) and btrfs-progs (C(btrfs)) where
    such filesystems are mounted.
author:
  - vmbackup.azure maintainers (@vmbackup)
seealso:
  - module: vmbackup.azure.backup_scan
  - module: vmbackup.azure.ext_filesystems
"""

EXAMPLES = r"""
- name: Gather the Linux facts of the backup scan
  vmbackup.azure.linux_backup_facts:
  become: true

- name: Only the ext filesystems mounted at /data and /srv
  vmbackup.azure.linux_backup_facts:
    ext_mounts: [/data, /srv]
  become: true
"""

RETURN = r"""
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: dict
  contains:
    vmbackup_linux:
      description: Everything the Linux checks need.
      type: dict
      contains:
        ext_filesystems:
          description:
            - One entry per mounted ext2/ext3/ext4 filesystem (or per requested mount point).
            - Besides the keys below, entries carry what the fix needs to decide whether it may
              unmount the filesystem (C(present), C(error), C(journal), C(read_only), C(major),
              C(minor), C(mount_root), C(root_device), C(submounts), C(also_mounted_at),
              C(loop_autoclear), C(holders), C(remount_options), C(options_source), C(uuid),
              C(not_mounted) for a requested mount point where nothing is mounted).
            - A filesystem a repair unmounted and did not mount again (O(ext_pending_file)) is listed with
              C(present=false) and C(pending_remount) (the record - C(device), C(fstype), C(remount_options),
              C(pid), C(started), C(fsck_rc) when e2fsck left errors); the evaluator reports it as a failure.
          type: list
          elements: dict
          contains:
            mountpoint:
              description: Mount point.
              type: str
              sample: /data
            device:
              description: Block device.
              type: str
              sample: /dev/sdc1
            fstype:
              description: Filesystem type.
              type: str
              sample: ext4
            options:
              description: Mount options (per mount, then superblock options).
              type: str
              sample: rw,relatime
            state:
              description: C(Filesystem state) of C(tune2fs -l), lower case; null when it could not be read.
              type: str
              sample: not clean
            state_raw:
              description: The same as printed by C(tune2fs).
              type: str
              sample: not clean
            is_root:
              description: Whether it is mounted at C(/).
              type: bool
              sample: false
        security_policy:
          description:
            - For C(UserErrorVmNotInDesirableState) - the Azure agent directory (C(agent) - handler directories,
              C(noexec) mount) and, per mechanism (C(selinux), C(fapolicyd), C(apparmor)), whether it is active and
              what the exclusion of C(/var/lib/waagent) needs (file-context rules and labels, rules files, profiles).
              A section that could not be read holds C(error). See M(vmbackup.azure.waagent_security_policy).
          type: dict
        vmsnapshot_extension:
          description: The backup extension's handler directories under C(/var/lib/waagent).
          type: dict
          contains:
            present:
              description: Whether a C(Microsoft.Azure.RecoveryServices.VMSnapshotLinux-<version>) directory exists.
              type: bool
            versions:
              description: Their versions.
              type: list
              elements: str
              sample: [1.0.9188.0]
        other_filesystems:
          description:
            - Mounted xfs and btrfs filesystems - C(mountpoint), C(device), C(fstype), C(options), C(health)
              (V(ok), V(errors), V(shutdown), V(unknown)) and C(detail). Read only (C(xfs_info), directory read,
              C(btrfs device stats), C(btrfs scrub status)).
          type: list
          elements: dict
        vmbackup_conf:
          description:
            - C(path), C(exists), C(content) (the text) and C(error) of the backup extension's configuration file,
              and C(plugin_host_conf) (C(exists), C(uid), C(gid), C(mode) of C(/etc/azure/VMSnapshotPluginHost.conf)).
          type: dict
        agent:
          description:
            - The Azure Linux agent - C(os), C(identity) (DMI - C(azure), C(chassis_asset_tag)), C(package),
              C(version) (C(waagent --version) - C(agent), C(goal_state_agent)), C(service), C(conf)
              (C(extensions_enabled)) and C(lib_mount) (C(noexec)).
          type: dict
        conditions:
          description:
            - C(nics) (per NIC C(method) V(dhcp), V(static) or V(unknown) and the C(sources) that say so), C(dns)
              (per name C(resolved), C(addresses), C(error)), C(resources) (C(cpu_percent), C(memory_percent)) and
              C(extension_status) (the newest C(.status) of the backup extension - C(found), C(path), C(sequence),
              C(content)); or C(skipped) with the reason.
          type: dict
"""

from collections.abc import Callable

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vmbackup.azure.plugins.module_utils._linux_agent import gather_agent
from ansible_collections.vmbackup.azure.plugins.module_utils._linux_conditions import gather_conditions
from ansible_collections.vmbackup.azure.plugins.module_utils._linux_fs import (
    PENDING_FILE,
    gather_ext_filesystems,
    gather_other_filesystems,
    read_mountinfo,
)
from ansible_collections.vmbackup.azure.plugins.module_utils._linux_host import C_LOCALE
from ansible_collections.vmbackup.azure.plugins.module_utils._secpolicy import (
    gather_secpolicy,
    gather_snapshot_extension,
)
from ansible_collections.vmbackup.azure.plugins.module_utils._vmbackup_conf import read_conf_facts


def _linux_sections(module: AnsibleModule, run: Callable) -> dict:
    """xfs/btrfs, vmbackup.conf, agent, conditions; a section that fails records its error instead."""
    p = module.params
    facts, errors = {}, {}

    def section(name: str, gather: Callable) -> None:
        try:
            facts[name] = gather()
        except Exception as exc:  # one broken section must not hide the others
            errors[name] = f"{type(exc).__name__}: {exc}"

    section(
        "other_filesystems",
        lambda: gather_other_filesystems(
            run,
            mounts=p["ext_mounts"],
            xfs_info=module.get_bin_path("xfs_info") or "xfs_info",
            btrfs=module.get_bin_path("btrfs") or "btrfs",
        ),
    )
    section("vmbackup_conf", lambda: read_conf_facts(p["vmbackup_conf_path"]))
    section("agent", lambda: gather_agent(run, module.get_bin_path, read_mountinfo(), conf_path=p["waagent_conf_path"]))
    identity = (facts.get("agent") or {}).get("identity") or {}
    if p["azure_only"] and not identity.get("azure"):
        facts["conditions"] = {
            "skipped": "not an Azure VM (no Azure chassis asset tag in DMI); set vmbackup_azure_only: false to check it"
        }
    else:
        section(
            "conditions",
            lambda: gather_conditions(
                p["azure_endpoint_names"],
                cpu_sample_seconds=p["cpu_sample_seconds"],
                conf_path=p["waagent_conf_path"],
            ),
        )
    if errors:
        facts["linux_section_errors"] = errors
    return facts


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            ext_mounts=dict(type="list", elements="path", default=[]),
            ext_pending_file=dict(type="path", default=PENDING_FILE),
            vmbackup_conf_path=dict(type="path", default="/etc/azure/vmbackup.conf"),
            waagent_conf_path=dict(type="path", default="/etc/waagent.conf"),
            azure_endpoint_names=dict(type="list", elements="str", default=[]),
            azure_only=dict(type="bool", default=True),
            cpu_sample_seconds=dict(type="float", default=0.5),
        ),
        supports_check_mode=True,
    )
    if not 0 <= module.params["cpu_sample_seconds"] <= 10:
        module.fail_json(msg="cpu_sample_seconds: must be between 0 and 10")
    for path in module.params["ext_mounts"]:
        if not path.startswith("/"):
            module.fail_json(msg=f"ext_mounts: {path!r} is not an absolute path (a mount point such as /data)")
    tune2fs = module.get_bin_path("tune2fs", required=True)

    def run(argv: list) -> tuple:
        return module.run_command(argv, environ_update=C_LOCALE)

    ext = gather_ext_filesystems(
        run, mounts=module.params["ext_mounts"], tune2fs=tune2fs, pending_file=module.params["ext_pending_file"]
    )
    facts = {"ext_filesystems": ext}
    facts.update(_linux_sections(module, run))
    # UserErrorVmNotInDesirableState: security mechanisms and the backup extension (reads files only).
    facts["security_policy"] = gather_secpolicy("/")
    try:
        facts["vmsnapshot_extension"] = gather_snapshot_extension("/")
    except OSError as exc:
        facts["vmsnapshot_extension"] = {"error": str(exc)}
    module.exit_json(changed=False, ansible_facts={"vmbackup_linux": facts})


if __name__ == "__main__":
    main()
