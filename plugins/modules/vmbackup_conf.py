#!/usr/bin/python
# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: vmbackup_conf
short_description: Keep /etc/azure/vmbackup.conf as the Linux backup extension reads it
version_added: 0.2.0
description:
  - Manages keys of C(/etc/azure/vmbackup.conf), the only configuration file the Azure Backup Linux
    extension (C(VMSnapshotLinux)) reads, exactly as the extension reads it (Python C(ConfigParser),
    keys case-insensitive). Keys are written in lowercase as C(key = value); a key is never written
    twice. Duplicated keys (for example C(MountsToSkip) beside C(mountstoskip), which makes Python 3's
    parser raise and the extension silently ignore the whole file) are merged into one lowercase key;
    for C(mountstoskip) the merged value is the union of the mount points.
  - Comments, other sections and the order of the file are kept; only the lines of the keys it sets,
    merges or removes change.
  - When the existing file does not parse (a line that is neither a section, a setting nor a comment, a
    setting before any section, a section twice, or a key set twice with different values that
    O(settings) does not decide), the task fails naming the lines and writes nothing.
  - With O(asr=true) (the VM is also protected by Azure Site Recovery) it sets the doc's
    C(isanysnapshotfailed = False) (the spelling the extension compared with). B(Legacy only) - extensions read
    that key only from 2018-10-09 to 2019-01-29 (Azure/azure-linux-extensions commits c4a5214a .. 6cbd95fd), so
    it does not prevent C(ExtensionFailedSnapshotLimitReachedError) on current extensions; the finding says so.
  - Also keeps C(/etc/azure/VMSnapshotPluginHost.conf) owned by root with group and others at most
    allowed to read, as the extension requires (when that file exists).
  - The control-plane parts of C(ExtensionFailedSnapshotLimitReachedError) (snapshot blob counts,
    soft-delete retention, ASR schedule) are reported in the finding's C(fix) text only.
options:
  path:
    description: The extension's configuration file.
    type: path
    default: /etc/azure/vmbackup.conf
  section:
    description:
      - Section of O(settings) and O(remove). Section names are case-sensitive; a different spelling of
        C(SnapshotThread) (never read by the extension) is refused.
    type: str
    default: SnapshotThread
  settings:
    description:
      - Keys to set in O(section). Keys are case-insensitive and written in lowercase.
      - Booleans are written V(True)/V(False) - the extension compares C(writelog) and C(uploadstatusandlog)
        with C('True') case-sensitively, so C(true) would switch them off. Lists are joined with commas without
        spaces (as C(mountstoskip) needs - exact mount points; a trailing C(/) or C(/) itself is refused).
        A value with a single C(%) is refused (C(ConfigParser) interpolation would make the extension ignore it;
        write C(%%)).
      - Refused, naming the key - a non-integer for C(timeout), C(safefreezewaitinseconds), C(seqsnapshot),
        C(disable_logging), C(loggingoff), C(sudo_off) (the extension would silently use its default), and
        C(onappfailuredofsfreeze)/C(onappsuccessdofsfreeze), which have no effect in any spelling. See
        docs/upstream/vmbackup-extension.md for the extension's rules (with the upstream commit and lines).
      - C(snapshotmethod) must be one of V(onlyGuest), V(firstGuestThenHost), V(firstHostThenGuest), V(onlyHost).
    type: dict
    default: {}
  remove:
    description:
      - Keys to remove from O(section) (case-insensitive). A key also set in C([DEFAULT]) is removed there too,
        since the extension's parser sees C([DEFAULT]) keys in every section.
    type: list
    elements: str
    default: []
  asr:
    description:
      - The VM is also protected by Azure Site Recovery. Sets C(isanysnapshotfailed = False) as Microsoft's
        page says (written C(False), the spelling the extension compared with; an existing C(False) is kept),
        unless O(settings) sets that key. Legacy only, see the description.
    type: bool
    default: false
  backup:
    description: Keep a copy of the old file (C(<path>.<pid>.<date>~)) when it is rewritten.
    type: bool
    default: true
  fix_plugin_host_conf:
    description:
      - Make O(plugin_host_conf) owned by root and remove group/other write and execute bits when it
        exists and breaks the extension's rule. V(false) only reports.
    type: bool
    default: true
  plugin_host_conf:
    description: The extension's plugin host configuration file.
    type: path
    default: /etc/azure/VMSnapshotPluginHost.conf
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads and plans; writes nothing.
  diff_mode:
    support: full
    details: The file before and after, and the owner/mode of the plugin host configuration.
  platform:
    support: full
    platforms: posix
    details: Linux guests with the Azure Backup extension.
notes:
  - Creates the file (and C(/etc/azure), mode 0755) when it does not exist and O(settings) is not empty.
  - A file that exists is rewritten atomically with its owner, mode and SELinux context kept. A symlink is
    followed and its target edited, as M(ansible.builtin.lineinfile) does. Lines other than the keys it changes
    keep their bytes and line endings (a CRLF file stays CRLF). A backup that cannot be completed (a full disk)
    is removed, and the file is then left unchanged; every error names the file and the reason.
author:
  - vmbackup.azure maintainers (@vmbackup)
seealso:
  - module: vmbackup.azure.linux_backup_facts
  - module: vmbackup.azure.backup_scan
  - name: ExtensionFailedSnapshotLimitReachedError
    description: Microsoft's troubleshooting page, section ExtensionFailedSnapshotLimitReachedError.
    link: https://learn.microsoft.com/azure/backup/backup-azure-vms-troubleshoot
"""

EXAMPLES = r"""
- name: Do not freeze /mnt/scratch; merge any MountsToSkip duplicates
  vmbackup.azure.vmbackup_conf:
    settings:
      mountstoskip: [/mnt/scratch]
  become: true

- name: What Microsoft's page says for VMs also protected by Azure Site Recovery (legacy key)
  vmbackup.azure.vmbackup_conf:
    asr: true
  become: true

- name: Remove a key, keep everything else
  vmbackup.azure.vmbackup_conf:
    remove: [isanysnapshotfailed]
  become: true
"""

RETURN = r"""
path:
  description: The file.
  returned: always
  type: str
  sample: /etc/azure/vmbackup.conf
changes:
  description: What changed (or would change, in check mode) in the file.
  returned: always
  type: list
  elements: str
  sample: ["[SnapshotThread] merge MountsToSkip, mountstoskip (lines 3, 5) into mountstoskip = /a,/b"]
backup_file:
  description: The copy of the old file.
  returned: when the file was rewritten and O(backup=true)
  type: str
  sample: /etc/azure/vmbackup.conf.2412.2026-01-01@10:00:00~
plugin_host_conf:
  description: Owner and mode of O(plugin_host_conf) before the run and what was done.
  returned: always
  type: dict
  sample: {exists: true, uid: 0, mode: "0664", problems: ["mode 0664: ..."], fixed: true}
finding:
  description:
    - The ExtensionFailedSnapshotLimitReachedError finding before the run (the plan); the scan reports the same.
  returned: always
  type: dict
finding_after:
  description: The finding after the run (in check mode, the same as RV(finding)).
  returned: always
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vmbackup.azure.plugins.module_utils._conffile import ConfFileError, backup, write_text
from ansible_collections.vmbackup.azure.plugins.module_utils._vmbackup_conf import (
    ConfError,
    desired_settings,
    evaluate_vmbackup_conf,
    plan_conf,
    plugin_host_conf_fixed_mode,
    plugin_host_conf_problems,
    read_conf_facts,
)


def _options(params: dict) -> dict:
    return {
        "path": params["path"],
        "section": params["section"],
        "settings": params["settings"],
        "remove": params["remove"],
        "asr": params["asr"],
        "fix_plugin_host_conf": params["fix_plugin_host_conf"],
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/azure/vmbackup.conf"),
            section=dict(type="str", default="SnapshotThread"),
            settings=dict(type="dict", default={}),
            remove=dict(type="list", elements="str", default=[]),
            asr=dict(type="bool", default=False),
            backup=dict(type="bool", default=True),
            fix_plugin_host_conf=dict(type="bool", default=True),
            plugin_host_conf=dict(type="path", default="/etc/azure/VMSnapshotPluginHost.conf"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    path = params["path"]
    options = _options(params)
    if not params["section"].strip() or any(c in params["section"] for c in "[]\n"):
        module.fail_json(msg=f"section: {params['section']!r} is not a section name")
    try:
        settings, remove = desired_settings(options)
    except ConfError as exc:
        module.fail_json(msg=str(exc))
    if os.path.isdir(path):
        module.fail_json(msg=f"path: {path} is a directory, not the extension's configuration file")

    facts = read_conf_facts(path, params["plugin_host_conf"])
    finding = evaluate_vmbackup_conf(facts, options)
    finding.pop("new_content", None)
    if facts.get("error"):
        module.fail_json(msg=f"{facts['error']}; nothing was written", finding=finding)
    old = facts["content"] if facts["exists"] else None
    result = {"changed": False, "path": path, "changes": [], "finding": finding}
    try:
        new, changes = plan_conf(old, params["section"], settings, remove)
    except ConfError as exc:
        module.fail_json(msg=f"ExtensionFailedSnapshotLimitReachedError: {path}: {exc}", **result)
    if old is None and not settings:
        new, changes = None, []
    diffs = []
    if changes:
        result["changes"] = changes
        result["changed"] = True
        diffs.append({"before_header": path, "after_header": path, "before": old or "", "after": new})
        if not module.check_mode:
            try:
                if old is not None and params["backup"]:
                    result["backup_file"] = backup(path)
                write_text(module, path, new)
            except ConfFileError as exc:
                module.fail_json(msg=f"ExtensionFailedSnapshotLimitReachedError: {exc}", **result)

    host = facts["plugin_host_conf"]
    problems = plugin_host_conf_problems(host)
    host_result = {
        "path": host["path"],
        "exists": host["exists"],
        "uid": host.get("uid"),
        "mode": f"{host['mode']:04o}" if host.get("mode") is not None else None,
        "problems": problems,
        "fixed": False,
    }
    if problems and params["fix_plugin_host_conf"]:
        new_mode = plugin_host_conf_fixed_mode(host["mode"])
        diffs.append(
            {
                "before_header": host["path"] + " (owner, mode)",
                "after_header": host["path"] + " (owner, mode)",
                "before": f"uid {host['uid']} mode {host['mode']:04o}\n",
                "after": f"uid 0 mode {new_mode:04o}\n",
            }
        )
        result["changed"] = True
        host_result["fixed"] = True
        if not module.check_mode:
            try:
                if host["uid"] != 0:
                    os.chown(host["path"], 0, -1)
                os.chmod(host["path"], new_mode)
            except OSError as exc:
                module.fail_json(msg=f"cannot fix {host['path']}: {exc}", plugin_host_conf=host_result, **result)
    result["plugin_host_conf"] = host_result
    if module._diff and diffs:
        result["diff"] = diffs if len(diffs) > 1 else diffs[0]
    if result["changed"] and not module.check_mode:
        after = evaluate_vmbackup_conf(read_conf_facts(path, params["plugin_host_conf"]), options)
        after.pop("new_content", None)
        result["finding_after"] = after
    else:
        result["finding_after"] = finding
    module.exit_json(**result)


if __name__ == "__main__":
    main()
