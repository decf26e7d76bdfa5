# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: parse_vss_writers
short_description: Parse C(vssadmin list writers) output in any display language
version_added: 0.1.0
author: vmbackup.azure contributors (@vmbackup)
description:
  - Turns the text printed by C(vssadmin list writers) into a list of writers.
  - Parses on structure, not on words, so output from any Windows display language works
    (localized labels, C(:), C( :) or full-width C(：) separators, CRLF, a byte order mark,
    typographic quotes). Writer names and GUIDs are never localized.
  - A truncated or malformed writer block raises an error instead of returning a guessed writer.
    Output with only the banner (VSS is down, or nothing was listed) gives an empty list.
options:
  _input:
    description: The text printed by C(vssadmin list writers).
    type: string
    required: true
seealso:
  - module: vmbackup.azure.vss_writers
"""

EXAMPLES = r"""
- name: List VSS writers
  ansible.windows.win_command: vssadmin list writers
  register: vssadmin
  changed_when: false

- name: Show the writers that are not stable
  ansible.builtin.debug:
    msg: "{{ vssadmin.stdout | vmbackup.azure.parse_vss_writers | rejectattr('state', 'equalto', 1) }}"
"""

RETURN = r"""
_value:
  description: One dictionary per writer, in the order printed.
  type: list
  elements: dictionary
  contains:
    name:
      description: The writer name (never localized).
      type: str
      sample: System Writer
    writer_id:
      description: The writer id, lowercase, without braces.
      type: str
      sample: e8132975-6f93-4464-a53e-1050253ae220
    instance_id:
      description: The writer instance id, lowercase, without braces.
      type: str
      sample: eb6b4c30-aa48-486a-9618-0d1934d180ca
    state:
      description: The C(VSS_WRITER_STATE) number; C(1) is stable.
      type: int
      sample: 8
    last_error:
      description: The last error as printed (localized).
      type: str
      sample: Timed out
"""

from ansible.errors import AnsibleFilterError  # noqa: E402 - documentation first, as filter plugins do
from ansible_collections.vmbackup.azure.plugins.plugin_utils._vss import (  # noqa: E402
    VssParseError,
)
from ansible_collections.vmbackup.azure.plugins.plugin_utils._vss import (  # noqa: E402
    parse_vss_writers as _parse,
)


def parse_vss_writers(text):
    if not isinstance(text, str):
        raise AnsibleFilterError(
            f"parse_vss_writers expects the text of 'vssadmin list writers', got {type(text).__name__}"
        )
    try:
        return _parse(text)
    except VssParseError as exc:
        raise AnsibleFilterError(f"parse_vss_writers: cannot parse 'vssadmin list writers' output: {exc}") from exc


class FilterModule:
    def filters(self):
        return {"parse_vss_writers": parse_vss_writers}
