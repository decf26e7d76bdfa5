# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-host state model of the Windows simulator: one YAML file per host.

The file is loaded for every remote execution and written back (temp file + rename) only when
an emulation changed something and the task did not run in check mode, so a check-mode run
leaves it byte-identical. Sections the emulations do not use yet are accepted and preserved.

Example (every section is optional except ``hostname``)::

    hostname: WIN-01
    locale: en-US                    # (Get-Culture).Name; vssadmin is rendered in it
    os: {name: Microsoft Windows Server 2022 Datacenter, version: 10.0.20348}
    services:                        # service name -> properties
      CryptSvc:
        display_name: Cryptographic Services
        state: running               # running|stopped|start_pending|stop_pending|paused
        start_mode: auto             # auto|delayed|manual|disabled (delayed reported as auto by the probe)
        username: NT Authority\\NetworkService
        dependencies: [RpcSs]        # dependents are derived, never written
        description: ...             # optional; also optional: path
    vss_writers:                     # what `vssadmin list writers` shows, in order
      - name: System Writer
        writer_id: e8132975-6f93-4464-a53e-1050253ae220      # braces optional
        instance_id: eb6b4c30-aa48-486a-9618-0d1934d180ca
        state: 8                     # VSS_WRITER_STATE (field-notes section 3)
        last_error: Timed out        # No error|Retryable error|Non-retryable error|Not responding|Timed out
        service: CryptSvc            # hosting service: (re)starting it resets this writer to [1] Stable
        recovers_on_restart: true    # false: the writer stays in its state after a restart
    vss_service_down: false          # true: vssadmin prints only its banner and an error
    registry:                        # key (HKLM:\\..., case-insensitive) -> value name -> {type, data}
      HKLM:\\SOFTWARE\\Microsoft\\Virtual Machine\\Guest:
        GuestAgentVersion: {type: string, data: 2.7.41491.1102}
    files:                           # path (case-insensitive) -> properties
      C:\\Windows\\System32\\vssapi.dll: {exists: true, version: 10.0.20348.1, size: 1234567}
    certificates:                    # store (LocalMachine\\My) -> list of certificates
      LocalMachine\\My:
        - {thumbprint: ABC..., subject: CN=WIN-01, issuer: CN=WIN-01, valid_to: '2027-01-01T00:00:00'}
    acls:                            # path -> {sddl, isdir (true), inherited_from_parent: [ACE strings]}
      C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys: {sddl: 'O:SYG:SYD:PAI(A;;0x12019f;;;WD)(A;;FA;;;BA)'}
    bitlocker_volumes:               # Get-BitLockerVolume; absent key = BitLocker not installed
      - {mount_point: 'D:', volume_type: Data, lock_status: Locked, volume_status: FullyEncrypted,
         protection_status: Unknown, encryption_percentage: 100, key_protectors: [RecoveryPassword],
         recovery_password: '111111-...'}   # what manage-bde -unlock accepts (never rendered)
    azure_disk_encryption: false     # true: the ADE extension's plugin folder exists (its volumes are Azure's)
    # services.<name>.start_fails: true = starting the service fails (msdtc -install clears it for MSDTC)
    nics:                            # probe section nics (GuestDhcpDisabled)
      - {name: Ethernet, dhcp_enabled: true, ip_addresses: [10.0.0.4]}
    installed_products:              # product_id -> {name, version, wow6432?}; win_package adds/removes
      '{042d26ef-3dbe-4c25-95d3-4c1b11b235a7}':
        {name: Microsoft Visual C++ 2013 Redistributable (x64) - 12.0.40664, version: 12.0.40664.0}
    downloads:                       # URL -> like a files entry: what win_package downloads from it
      https://example.invalid/agent.msi: {package: {product_id: '{...}', name: ..., version: ..., effects: {...}}}
    # A files/downloads entry may carry package: {product_id, name, version, rc (0), wow6432,
    # silent_switch (an .exe without it in arguments fails), effects: {files, registry, services...}}:
    # what win_package installs (effects are deep-merged into this state).
    dns: {unresolved: [management.azure.com], addresses: {name: [ip]}}   # every other name resolves
    resources: {cpu_percent: 12, memory_percent: 41}     # absent: an idle host (5 % / 30 %)
    events:                          # Application log; the probe reads id 517 younger than BackupEventDays
      - {id: 517, provider: Microsoft-Windows-Backup, age_days: 1, message: The backup operation ... failed}
    extension_status:                # the newest VMSnapshot handler .status file (absent: none)
      plugin_version: 1.0.9222.0     # <PLUGIN_ROOT>\\<plugin_version>\\Status\\<sequence>.status
      sequence: 12
      age_minutes: 90                # file age (a transitioning status younger than 180 min = backup running)
      items: [{status: {status: success, code: 0, formattedMessage: {message: ...}}}]  # or content: raw text

    faults: {wmi_broken: true, ...}  # fault modes (plugins/plugin_utils/_winsim/faults.py, docs/simulator.md)
    replay: {...}                    # a captured probe (a capture file loads as a state with it; replay.py)

Registry value types: string, expandstring, dword, qword, multistring, binary, none (binary data
is a list of ints 0-255). Registry keys exist when listed (``{}`` for a key without values) or
when a listed key lies below them.
"""

from __future__ import annotations

import contextlib
import os
import tempfile

import yaml

try:  # C loader/dumper when libyaml is there: loading is per execution, keep it cheap
    from yaml import CSafeDumper as _Dumper
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as _Dumper
    from yaml import SafeLoader as _Loader

SERVICE_STATES = ("running", "stopped", "start_pending", "stop_pending", "paused")
START_MODES = ("auto", "delayed", "manual", "disabled")
LAST_ERRORS = ("No error", "Retryable error", "Non-retryable error", "Not responding", "Timed out")
REG_TYPES = ("string", "expandstring", "dword", "qword", "multistring", "binary", "none")
SECTIONS = {
    "hostname": str,
    "locale": str,
    "os": dict,
    "services": dict,
    "vss_writers": list,
    "vss_service_down": bool,
    "registry": dict,
    "files": dict,
    "certificates": dict,
    "acls": dict,
    "bitlocker_volumes": list,
    "nics": list,
    "installed_products": dict,
    "downloads": dict,
    "dns": dict,
    "resources": dict,
    "events": list,
    "extension_status": dict,
    "faults": dict,
    "azure_disk_encryption": bool,
    "replay": dict,
    "replay_stale": bool,
}


class StateError(Exception):
    """The state file is missing or malformed; the message names the file."""


class HostState:
    """One host's state: ``data`` is the parsed YAML; emulations call :meth:`touch` after a change."""

    def __init__(self, path: str, data: dict):
        self.path = path
        self.data = data
        self.dirty = False

    # -- loading / saving ---------------------------------------------------------------------
    @classmethod
    def load(cls, path: str) -> HostState:
        try:
            with open(path, "rb") as f:
                data = yaml.load(f, Loader=_Loader)  # noqa: S506 - safe loader (C or Python)
        except FileNotFoundError:
            raise StateError(f"simulator state file not found: {path}") from None
        except OSError as e:
            raise StateError(f"simulator state file {path} cannot be read: {e}") from None
        except yaml.YAMLError as e:
            raise StateError(f"simulator state file {path} is not valid YAML: {e}") from None
        from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim import replay

        if replay.is_capture(data):  # a capture from a real host (playbooks/capture.yml)
            data = replay.state_from_capture(data)
        problems = validate(data)
        if problems:
            raise StateError(f"simulator state file {path} is malformed: " + "; ".join(problems))
        return cls(path, data)

    def touch(self) -> None:
        self.dirty = True

    def save(self) -> None:
        """Write atomically: a temp file in the same directory, then rename over the original."""
        if self.data.get("replay"):  # the host was changed: the modeled sections stop replaying
            self.data["replay_stale"] = True
        text = yaml.dump(self.data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False)
        directory = os.path.dirname(os.path.abspath(self.path))
        fd, tmp = tempfile.mkstemp(prefix=".winsim-", suffix=".yml", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            with contextlib.suppress(OSError):
                os.chmod(tmp, os.stat(self.path).st_mode & 0o7777)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self.dirty = False

    # -- accessors ------------------------------------------------------------------------------
    @property
    def hostname(self) -> str:
        return str(self.data.get("hostname") or "WIN-SIM")

    @property
    def locale(self) -> str:
        return str(self.data.get("locale") or "en-US")

    def section(self, name: str, default_type: type = dict):
        """The section, created empty (in memory only) when absent."""
        value = self.data.get(name)
        if value is None:
            value = default_type()
            self.data[name] = value
        return value

    @property
    def services(self) -> dict:
        return self.section("services")

    def find_service(self, name: str) -> tuple[str, dict] | None:
        """Service lookup as the SCM does it: by service name, case-insensitively."""
        services = self.services
        if name in services:
            return name, services[name]
        low = name.lower()
        for key, svc in services.items():
            if key.lower() == low:
                return key, svc
        return None

    def dependents(self, name: str) -> list[str]:
        """Services that list ``name`` among their dependencies (derived, never stored)."""
        low = name.lower()
        return [
            key
            for key, svc in self.services.items()
            if any(str(d).lower() == low for d in (svc or {}).get("dependencies") or [])
        ]

    @property
    def writers(self) -> list:
        return self.section("vss_writers", list)


def _type_name(t: type) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "true/false"}[t]


def validate(data) -> list[str]:
    """Return a list of problems (empty when the state is usable)."""
    if not isinstance(data, dict):
        return ["the top level must be a mapping"]
    problems = []
    if not data.get("hostname"):
        problems.append("'hostname' is required")
    for key, typ in SECTIONS.items():
        value = data.get(key)
        if value is not None and not isinstance(value, typ):
            problems.append(f"'{key}' must be {_type_name(typ)}")
    if problems:
        return problems
    for name, svc in (data.get("services") or {}).items():
        if not isinstance(svc, dict):
            problems.append(f"services.{name} must be a mapping")
            continue
        if svc.get("state", "stopped") not in SERVICE_STATES:
            problems.append(f"services.{name}.state must be one of {', '.join(SERVICE_STATES)}")
        if svc.get("start_mode", "manual") not in START_MODES:
            problems.append(f"services.{name}.start_mode must be one of {', '.join(START_MODES)}")
        if not isinstance(svc.get("dependencies") or [], list):
            problems.append(f"services.{name}.dependencies must be a list")
    for i, w in enumerate(data.get("vss_writers") or []):
        if not isinstance(w, dict) or not w.get("name") or not w.get("writer_id") or not w.get("instance_id"):
            problems.append(f"vss_writers[{i}] needs name, writer_id and instance_id")
            continue
        if not isinstance(w.get("state", 1), int) or not 0 <= w.get("state", 1) <= 15:
            problems.append(f"vss_writers[{i}].state must be a VSS_WRITER_STATE number 0-15")
        if w.get("last_error", "No error") not in LAST_ERRORS:
            problems.append(f"vss_writers[{i}].last_error must be one of {', '.join(LAST_ERRORS)}")
    for key, values in (data.get("registry") or {}).items():
        if not isinstance(values, dict):
            problems.append(f"registry[{key}] must be a mapping of value name -> {{type, data}}")
            continue
        for vname, v in values.items():
            if not isinstance(v, dict) or v.get("type", "string") not in REG_TYPES:
                problems.append(f"registry[{key}][{vname}] needs a type among {', '.join(REG_TYPES)}")
    for path, props in (data.get("files") or {}).items():
        if not isinstance(props, dict):
            problems.append(f"files[{path}] must be a mapping")
    for path, props in (data.get("acls") or {}).items():
        if not isinstance(props, dict) or not isinstance(props.get("sddl"), str):
            problems.append(f"acls[{path}] must be a mapping with an sddl string")
    for i, vol in enumerate(data.get("bitlocker_volumes") or []):
        if not isinstance(vol, dict) or not vol.get("mount_point"):
            problems.append(f"bitlocker_volumes[{i}] needs a mount_point")
    return problems
