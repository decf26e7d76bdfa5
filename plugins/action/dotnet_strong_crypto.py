# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for vmbackup.azure.dotnet_strong_crypto (fix for ExtensionSnapshotFailedNoSecureNetwork):
SchUseStrongCrypto in every .NET Framework version key.

Probe -> plan -> ansible.windows.win_regedit per differing value: plugins/plugin_utils/_registry_fix.py.
"""

from __future__ import annotations

from ansible_collections.vmbackup.azure.plugins.plugin_utils._registry import assess_dotnet_strong_crypto
from ansible_collections.vmbackup.azure.plugins.plugin_utils._registry_fix import APPLY_OPTION, RegistryFixAction


class ActionModule(RegistryFixAction):
    ARGUMENT_SPEC = {"include_32bit_view": {"type": "bool", "default": True}, **APPLY_OPTION}
    _VALID_ARGS = frozenset(ARGUMENT_SPEC) | {"probe", "verify"}
    ASSESS = staticmethod(assess_dotnet_strong_crypto)
    DIFF_HEADER = "dotnet_strong_crypto"
