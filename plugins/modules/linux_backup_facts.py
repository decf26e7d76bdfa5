#!/usr/bin/python
# Copyright: (c) 2025, vmbackup.azure maintainers
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
  - Today C(vmbackup_linux.ext_filesystems), the state of mounted ext2/ext3/ext4 filesystems
    (C(UserErrorFsFreezeFailed)). Later versions add keys; consumers ignore keys they do not know.
  - Reads only. Needs root (C(become=true)) to read superblocks with C(tune2fs -l).
options:
  ext_mounts:
    description:
      - Absolute mount points to report in C(ext_filesystems). Empty means every mounted ext2/ext3/ext4 filesystem.
    type: list
    elements: path
    default: []
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Reads only; there is nothing to compare.
  facts:
    support: full
    description: Returns C(ansible_facts.vmbackup_linux).
  platform:
    support: full
    platforms: posix
    description: Linux guests (ext2/ext3/ext4, e2fsprogs, util-linux).
requirements:
  - e2fsprogs (C(tune2fs)) on the managed host.
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
              C(loop_autoclear), C(holders)).
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
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vmbackup.azure.plugins.module_utils._extfs import C_LOCALE, gather_ext_filesystems


def main():
    module = AnsibleModule(
        argument_spec=dict(ext_mounts=dict(type="list", elements="path", default=[])),
        supports_check_mode=True,
    )
    for path in module.params["ext_mounts"]:
        if not path.startswith("/"):
            module.fail_json(msg=f"ext_mounts: {path!r} is not an absolute path (a mount point such as /data)")
    tune2fs = module.get_bin_path("tune2fs", required=True)

    def run(argv):
        return module.run_command(argv, environ_update=C_LOCALE)

    ext = gather_ext_filesystems(run, mounts=module.params["ext_mounts"], tune2fs=tune2fs)
    module.exit_json(changed=False, ansible_facts={"vmbackup_linux": {"ext_filesystems": ext}})


if __name__ == "__main__":
    main()
