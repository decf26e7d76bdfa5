# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: error_code
author: vmbackup.azure maintainers (@vmbackup)
version_added: 0.1.0
short_description: Look up an Azure VM backup error code in the collection's catalog
description:
  - Returns the catalog entry of each term from the collection's one catalog of the error codes and
    conditions of Microsoft's I(Troubleshoot backup failures on Azure virtual machines) page.
  - A term is a canonical code (V(UserErrorVmNotInDesirableState)), an alias (V(VmNotInDesirableState),
    V(ExtensionInstallationFailedCOM)), a numeric code (V(380008) or the integer V(380008)) or a role
    name (V(user_error_fs_freeze_failed)); matching ignores case, underscores and dashes.
  - Without terms, returns every entry of the catalog, in catalog order.
  - An unknown term fails the task with a message that names it and lists the valid codes.
options:
  _terms:
    description:
      - Error codes, aliases, numeric codes or role names to look up.
    type: list
    elements: raw
    required: false
  field:
    description:
      - Return only this field of each entry instead of the whole entry.
      - One of the keys listed under RV(_raw).
    type: str
    required: false
notes:
  - Use O(ignore:wantlist=true) (or P(ansible.builtin.query#lookup)) when you look up several terms or a
    field that is a list, so that Ansible does not join or unwrap the results.
seealso:
  - plugin: vmbackup.azure.normalize_error_codes
    plugin_type: filter
    description: Turn a list of codes, aliases and numbers into canonical codes.
  - plugin: vmbackup.azure.error_code_roles
    plugin_type: filter
    description: The roles that fix a list of codes.
  - name: Troubleshoot backup failures on Azure virtual machines
    description: The Microsoft page the catalog follows.
    link: https://learn.microsoft.com/azure/backup/backup-azure-vms-troubleshoot
"""

EXAMPLES = r"""
- name: Explain an error code found in a failed backup job
  ansible.builtin.debug:
    msg: "{{ lookup('vmbackup.azure.error_code', 'VmNotInDesirableState') }}"

- name: Link to the documentation of a numeric code
  ansible.builtin.debug:
    msg: "{{ lookup('vmbackup.azure.error_code', 380008, field='doc_url') }}"

- name: Several codes at once (wantlist keeps one entry per term)
  ansible.builtin.debug:
    msg: "{{ item.code }} -> {{ item.role or 'report only' }}"
  loop: "{{ lookup('vmbackup.azure.error_code', 'UserErrorFsFreezeFailed', '320001', wantlist=True) }}"

- name: Every code the collection knows
  ansible.builtin.debug:
    msg: "{{ query('vmbackup.azure.error_code', field='code') }}"
"""

RETURN = r"""
_raw:
  description:
    - One catalog entry per term (or every entry when there is no term), or the value of O(field) per term.
  type: list
  elements: dict
  contains:
    code:
      description: Canonical code, or the collection's id for a condition or a message without a code.
      type: str
      sample: UserErrorVmNotInDesirableState
    kind:
      description: V(error) (an error a backup, restore or job reports) or V(condition) (a state the doc
        says breaks backups, without its own code).
      type: str
    official:
      description: Whether O(ignore:code) is Microsoft's code (true) or an id the collection gives (false).
      type: bool
    title:
      description: Short English title.
      type: str
    aliases:
      description: Other codes or spellings that share the doc's row.
      type: list
      elements: str
      sample: [VmNotInDesirableState]
    numeric_codes:
      description: Numeric codes the doc gives for the error.
      type: list
      elements: int
      sample: [380008]
    messages:
      description: The English error message(s) as the doc prints them.
      type: list
      elements: str
    os:
      description: Where the check and fix run (V(windows), V(linux) guest, V(control) plane).
      type: list
      elements: str
    anchor:
      description: Anchor of the doc section.
      type: str
    doc_url:
      description: Link to the English doc section.
      type: str
    doc_url_zh_tw:
      description: Link to the zh-TW doc section.
      type: str
    check:
      description: What the check looks at.
      type: str
    fix:
      description: What the fix changes (from the doc, corrected by the field notes).
      type: str
    field_note:
      description: Why the collection differs from the doc, when it does; otherwise null.
      type: str
    role:
      description: Role that fixes it (built or planned), null when report only.
      type: str
      sample: user_error_fs_freeze_failed
    report_only:
      description: Whether the collection only reports it and changes nothing.
      type: bool
    implemented:
      description: Whether the role exists in this release.
      type: bool
    status:
      description: V(implemented), V(planned) or V(report_only).
      type: str
    disruptive_steps:
      description: Steps of the fix that need an explicit opt-in.
      type: list
      elements: str
"""

from ansible.errors import AnsibleLookupError  # noqa: E402 (Ansible puts DOCUMENTATION first)
from ansible.plugins.lookup import LookupBase  # noqa: E402
from ansible_collections.vmbackup.azure.plugins.module_utils._catalog import CATALOG, lookup  # noqa: E402


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        field = self.get_option("field")

        if terms:
            entries = []
            for term in terms:
                try:
                    entries.append(lookup(term))
                except KeyError as exc:
                    raise AnsibleLookupError(exc.args[0]) from None
        else:
            entries = list(CATALOG)

        if field is None:
            return [entry.as_dict() for entry in entries]
        if not entries or field not in entries[0]:
            valid = ", ".join(CATALOG[0].keys())
            raise AnsibleLookupError(f"unknown field {field!r}; valid fields: {valid}")
        return [entry.as_dict()[field] for entry in entries]
