# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for vmbackup.azure.bcdr_vss_copy_backup (fix for SqlServerSnapshotDelay):
BCDRAGENT USEVSSCOPYBACKUP where SQL Server is installed.

Probe -> plan -> ansible.windows.win_regedit per differing value: plugins/plugin_utils/_registry_fix.py.
"""

from __future__ import annotations

from ansible_collections.vmbackup.azure.plugins.plugin_utils._registry import assess_bcdr_vss_copy_backup
from ansible_collections.vmbackup.azure.plugins.plugin_utils._registry_fix import APPLY_OPTION, RegistryFixAction


class ActionModule(RegistryFixAction):
    ARGUMENT_SPEC = {"only_with_sql_server": {"type": "bool", "default": True}, **APPLY_OPTION}
    PROBE_SECTIONS = ("registry", "services")  # services: SQL Server detection
    _VALID_ARGS = frozenset(ARGUMENT_SPEC) | {"probe", "verify"}
    ASSESS = staticmethod(assess_bcdr_vss_copy_backup)
    DIFF_HEADER = "bcdr_vss_copy_backup"
