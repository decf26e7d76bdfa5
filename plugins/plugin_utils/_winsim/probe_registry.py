# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe's ``registry`` section on a simulated host, from the state's ``registry`` section.

The section's PowerShell is generated from ``PROBE_KEYS`` / ``PROBE_DISCOVER``
(plugins/plugin_utils/_registry.py); this renderer reads the same lists, so it answers for exactly
the keys the script asks for. Shape: docs/architecture.md ("The Windows probe", registry).

Assumptions (as the .NET registry API behaves, docs/simulator.md): a REG_DWORD / REG_QWORD comes back
signed (Int32 / Int64: 0xFFFFFFFF is -1), REG_EXPAND_SZ unexpanded, REG_BINARY / REG_NONE as a
list of ints, REG_MULTI_SZ as a list of strings. Subkey names keep the case they have in the state.
"""

from __future__ import annotations

import re

from ansible_collections.vmbackup.azure.plugins.plugin_utils._registry import PROBE_DISCOVER, PROBE_KEYS
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim import faults, registry


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >= 1 << (bits - 1) else value


def _value(entry: dict):
    typ = (entry or {}).get("type", "string")
    data = registry._convert((entry or {}).get("data"), typ, "x")
    if typ == "dword":
        data = _signed(data, 32)
    elif typ == "qword":
        data = _signed(data, 64)
    return {"type": typ, "data": data}


def _read(state, path: str) -> dict:
    if faults.access_denied(state, path) and registry.key_exists(state, path):
        # OpenSubKey throws SecurityException: the section's per-key catch records the key's error
        return {"exists": True, "values": {}, "subkeys": [], "error": "Requested registry access is not allowed."}
    if not registry.key_exists(state, path):
        return {"exists": False, "values": {}, "subkeys": []}
    key = registry.find_key(state, path)
    values = (state.section("registry").get(key) or {}) if key is not None else {}
    return {
        "exists": True,
        "values": {str(name): _value(entry) for name, entry in values.items()},
        "subkeys": registry.sub_keys(state, path),
    }


def probe_registry(state) -> dict:
    """``{keys: {path: {exists, values: {name: {type, data}}, subkeys}}}`` as the probe section outputs it."""
    paths = list(PROBE_KEYS)
    for root, pattern in PROBE_DISCOVER:
        # PowerShell -match: case-insensitive
        paths += [f"{root}\\{sub}" for sub in registry.sub_keys(state, root) if re.search(pattern, sub, re.IGNORECASE)]
    return {"keys": {path: _read(state, path) for path in paths}}
