# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one catalog of Azure VM backup error codes and conditions (internal helper).

Every error code and condition of Microsoft's "Troubleshoot backup failures on Azure virtual
machines" that the collection knows lives here, and nowhere else: the roles, the scan, the
triage, the lookup/filter plugins, ``docs/error-codes/`` and the README table read it or are
checked against it (``tools/gen_docs.py --check``, ``tests/unit/test_catalog.py``).

Source of every row: ``docs/fixes.md`` (the functional spec, one row per documented error or
condition), corrected by ``docs/field-notes.md`` where the Microsoft page is wrong or out of
date; such entries carry a ``field_note`` that says why the collection differs from the doc.

Pure Python, no Ansible import: modules, action plugins, filters and tools import it alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

DOC_BASE = "https://learn.microsoft.com/azure/backup/backup-azure-vms-troubleshoot"
DOC_BASE_ZH_TW = "https://learn.microsoft.com/zh-tw/azure/backup/backup-azure-vms-troubleshoot"

KINDS = ("error", "condition")
OSES = ("windows", "linux", "control")

# Section anchors of the doc (condition rows and table rows use the anchor of their section).
A_BASIC = "basic-troubleshooting"
A_COMMON_ERRORS = "common-vm-backup-errors"
A_JOBS = "jobs"
A_RESTORE = "restore"
A_TAKES_TIME = "backup-or-restore-takes-time"
A_VM_AGENT = "vm-agent"
A_SNAPSHOT = "troubleshoot-vm-snapshot-issues"
A_NETWORKING = "networking"

_W, _L, _C = "windows", "linux", "control"


def snake_case(code):
    """``ExtensionFailedTimeoutVMNetworkUnresponsive`` -> ``extension_failed_timeout_vm_network_unresponsive``."""
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", code)
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    return text.lower()


@dataclass(frozen=True)
class Entry(Mapping):
    """One error code or condition. Read it as attributes (``entry.anchor``) or as a mapping
    (``entry["anchor"]``); ``as_dict()`` gives plain lists/dicts for Ansible results and JSON."""

    code: str
    kind: str
    official: bool  # True: the code is Microsoft's; False: an id the collection gives a message/condition
    title: str
    os: tuple
    anchor: str
    check: str
    fix: str
    aliases: tuple = ()
    numeric_codes: tuple = ()
    messages: tuple = ()  # English error message(s) as the doc prints them (triage matches on these)
    field_note: str | None = None
    role: str | None = None
    report_only: bool = False
    implemented: bool = False
    disruptive_steps: tuple = ()

    # Mapping protocol -----------------------------------------------------------------------
    def __getitem__(self, key):
        if key in self.keys():
            return getattr(self, key)
        raise KeyError(key)

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self.keys())

    def keys(self):
        return _FIELD_NAMES + _DERIVED

    # Derived fields ---------------------------------------------------------------------------
    @property
    def doc_url(self):
        return f"{DOC_BASE}#{self.anchor}"

    @property
    def doc_url_zh_tw(self):
        return f"{DOC_BASE_ZH_TW}#{self.anchor}"

    @property
    def status(self):
        """``implemented`` (a role exists), ``planned`` (a role is named, not built yet) or ``report_only``."""
        if self.report_only:
            return "report_only"
        return "implemented" if self.implemented else "planned"

    def as_dict(self):
        out = {}
        for key in self.keys():
            value = getattr(self, key)
            out[key] = list(value) if isinstance(value, tuple) else value
        return out


_DERIVED = ("doc_url", "doc_url_zh_tw", "status")

_RESTORE_FIX_NONE = "None documented: read the message, correct the input named in it and retry the restore."


def _e(code, kind, title, os, anchor, check, fix, **kw):
    kw.setdefault("official", kind == "error")
    for key in ("os", "aliases", "numeric_codes", "messages", "disruptive_steps"):
        if key in kw:
            kw[key] = tuple(kw[key])
    report_only = kw.get("report_only", False)
    if not report_only and "role" not in kw:
        kw["role"] = snake_case(code)
    return Entry(code=code, kind=kind, title=title, os=tuple(os), anchor=anchor, check=check, fix=fix, **kw)


def _restore(code, title, message, fix=_RESTORE_FIX_NONE):
    return _e(
        code,
        "error",
        title,
        [_C],
        A_RESTORE,
        "A failed restore job whose message matches.",
        fix,
        official=False,
        messages=[message],
        report_only=True,
    )


def _job(code, title, message, fix):
    return _e(
        code,
        "error",
        title,
        [_C],
        A_JOBS,
        "A failed job cancellation whose message matches.",
        fix,
        official=False,
        messages=[message],
        report_only=True,
    )


CATALOG = (
    # ---- Error codes with a fix (fixes.md, first table) -------------------------------------
    _e(
        "ExtensionFailedVssWriterInBadState",
        "error",
        "Snapshot failed because VSS writers were in a bad state",
        [_W],
        "extensionfailedvsswriterinbadstate---snapshot-operation-failed-because-vss-writers-were-in-a-bad-state",
        "`vssadmin list writers`: every writer whose state is not `[1] Stable`.",
        "Restart the service that hosts each such writer (`net stop` / `net start`), then list the writers"
        " again: all stable.",
        messages=["Snapshot operation failed because VSS writers were in a bad state."],
        field_note=(
            "The doc says to restart the writers' services but names none, and Microsoft publishes no"
            " writer-to-service table (MicrosoftDocs/azure-docs issue 5225). The collection maps a writer to its"
            " service by writer id first, name second, using only rows several community scripts agree on"
            " (e.g. System Writer -> CryptSvc, WMI Writer -> Winmgmt, SqlServerWriter -> SQLWriter, Registry"
            " Writer -> VSS); a failed writer with no trusted mapping is reported, never guessed, and the map can"
            " be extended with a variable. `vssadmin` labels are localized, so the output is parsed on structure"
            " (quoted name, GUIDs, `[n]` state number), never on English words. Restarting `VSS` resets every"
            " writer it hosts."
        ),
        implemented=True,
        disruptive_steps=["restart the service hosting a failed writer"],
    ),
    _e(
        "ExtensionSnapshotFailedCOM",
        "error",
        "Extension installation or snapshot failed due to a COM+ error",
        [_W],
        "extensionsnapshotfailedcom--extensioninstallationfailedcom--extensioninstallationfailedmdtc---extension"
        "-installationoperation-failed-due-to-a-com-error",
        "Service `COMSysApp` (COM+ System Application) can start; service `MSDTC` (Distributed Transaction"
        " Coordinator) logs on as `NT AUTHORITY\\NetworkService`.",
        "Start/restart `COMSysApp`. Set MSDTC's logon account to Network Service and restart COM+. If the"
        " services still can't start: stop MSDTC, `msdtc -uninstall`, `msdtc -install`, start MSDTC, start"
        " COMSysApp.",
        aliases=["ExtensionInstallationFailedCOM", "ExtensionInstallationFailedMDTC"],
        messages=[
            "Snapshot operation failed due to COM+ error",
            "Extension installation/operation failed due to a COM+ error",
            'Extension installation failed with the error "COM+ was unable to talk to the Microsoft Distributed'
            ' Transaction Coordinator"',
        ],
        disruptive_steps=[
            "restart the COM+ System Application and MSDTC services",
            "change MSDTC's logon account",
            "reinstall MSDTC",
        ],
        field_note=(
            'The doc\'s check "COMSysApp can start" cannot be read without starting it: COMSysApp is demand-start,'
            " so a stopped COMSysApp passes the scan and the fix starts it. MSDTC's account is compared and set by"
            " SID (S-1-5-20), because account names are localized. The reinstall (`msdtc -uninstall`/`-install`)"
            " resets MSDTC's configuration and runs only when a service still fails to start after the lighter"
            " steps and the user opted in."
        ),
        implemented=True,
    ),
    _e(
        "ExtensionConfigParsingFailure",
        "error",
        "Failure in parsing the config for the backup extension",
        [_W],
        "extensionconfigparsingfailure--failure-in-parsing-the-config-for-the-backup-extension",
        "ACL of `%SystemDrive%\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys` (`icacls`): default is Everyone"
        " (R,W) with special rights, BUILTIN\\Administrators (F), nothing else.",
        "Reset the ACL: remove every other principal; Everyone gets List folder/read data, Read attributes, Read"
        " extended attributes, Create files/write data, Create folders/append data, Write attributes, Write"
        " extended attributes, Read permissions. Then delete, from LocalMachine\\My, every certificate issued to"
        " the classic deployment model or to **Windows Azure CRP Certificate Generator**.",
        messages=["Failure in parsing the config for the backup extension."],
        field_note=(
            "The doc describes the default ACL in words only. The collection compares the directory's security"
            " descriptor with the SDDL Microsoft's own diagnostic uses (Azure/azure-support-scripts"
            " `vmassist/windows/vmassist.ps1`): `O:SYG:SYD:PAI(A;;0x12019f;;;WD)(A;;FA;;;BA)` (owner and group"
            " SYSTEM, inheritance blocked, Everyone 0x12019f = the eight special rights above, Administrators full"
            ' control). "Issued to the classic deployment model" is a renamed certificate: the 2017 version of the'
            " page said *Issued To = Windows Azure Service Management for Extensions* (Microsoft later replaced"
            ' "Azure Service Management" with "the classic deployment model" in its docs), so the collection'
            " matches the subject CN exactly, and deletes the certificates only together with an ACL repair."
        ),
        disruptive_steps=["replace the MachineKeys ACL", "delete certificates"],
        implemented=True,
    ),
    _e(
        "ExtensionStuckInDeletionState",
        "error",
        "Extension state is not supportive to the backup operation",
        [_C, _W, _L],
        "extensionstuckindeletionstate---extension-state-is-not-supportive-to-backup-operation",
        "Guest agent installed and responsive; extension `VMSnapshot` (Windows) / `VMSnapshotLinux` (Linux),"
        " publisher `Microsoft.Azure.RecoveryServices`, stuck.",
        "Uninstall that extension; the next backup reinstalls it.",
        messages=["Extension state is not supportive to backup operation"],
        field_note=(
            "The doc spells the extensions `VmSnapshot`/`VmSnapshotLinux`; their manifests say type `VMSnapshot` /"
            " `VMSnapshotLinux`, publisher `Microsoft.Azure.RecoveryServices`. azure.azcollection's"
            " `azure_rm_virtualmachineextension` has no check mode and reports changed on every `state: absent`,"
            " so the collection looks first with `azure_rm_virtualmachineextension_info` and deletes only an"
            " extension that exists."
        ),
        disruptive_steps=["uninstall the backup extension"],
        implemented=True,
    ),
    _e(
        "ExtensionFailedSnapshotLimitReachedError",
        "error",
        "Snapshot failed: snapshot limit exceeded for some attached disks",
        [_C, _L],
        "extensionfailedsnapshotlimitreachederror---snapshot-operation-failed-as-snapshot-limit-is-exceeded-for"
        "-some-of-the-disks-attached",
        "Disk blob snapshot count; storage soft-delete retention; Azure Site Recovery on the VM.",
        "Delete non-essential **snapshot** blobs (never a disk blob) — destructive, opt-in only; lower the"
        " soft-delete retention so the snapshots stay under the limit; with Azure Site Recovery: schedule ASR"
        " apart from backup. The doc's `isanysnapshotfailed = false` in `/etc/azure/vmbackup.conf` is reported"
        " as legacy only (see the field note). In Azure: a lock on `AzureBackupRG_<region>_1` stops Azure Backup's"
        " clean-up of restore points -- remove it, and Azure Backup's restore points of the VM there (opt-in each).",
        messages=["Snapshot operation failed as snapshot limit is exceeded for some of the disks attached"],
        field_note=(
            "`isanysnapshotfailed` is dead: the Linux extension added it on 2018-10-09 (Azure/azure-linux-extensions"
            " commit c4a5214a) and stopped reading it on 2019-01-29 (commit 6cbd95fd); it compared the value with"
            " `== 'False'`, so only that spelling worked. Setting it changes nothing on current extensions."
            " The extension reads only `/etc/azure/vmbackup.conf` (section"
            " `[SnapshotThread]`, keys lowercase, never duplicated), not the `tempPlugin/vmbackup.conf` copy"
            " (MicrosoftDocs/azure-docs issue 90308), and silently ignores the whole file when it fails to parse."
            " When the extension rewrites the file it lowercases every key, so a later `MountsToSkip` beside its"
            " `mountstoskip` is a duplicate that Python 3's parser refuses: the collection writes lowercase keys,"
            " merges duplicates, keeps a backup and refuses to touch a file that does not parse."
        ),
        implemented=True,
        disruptive_steps=[
            "delete snapshot blobs",
            "change the storage account's soft-delete retention",
            "remove the lock on AzureBackupRG_<region>_1",
            "delete Azure Backup's restore points of the VM",
        ],
    ),
    _e(
        "ExtensionFailedTimeoutVMNetworkUnresponsive",
        "error",
        "Snapshot failed due to inadequate VM resources",
        [_W],
        "extensionfailedtimeoutvmnetworkunresponsive---snapshot-operation-failed-due-to-inadequate-vm-resources",
        "`HKLM\\SOFTWARE\\Microsoft\\BcdrAgentPersistentKeys`.",
        "Step 1: `SnapshotMethod` (REG_SZ) = `firstHostThenGuest`, `CalculateSnapshotTimeFromHost` (REG_SZ) ="
        " `True`. Step 2: schedule backups at low load (report only). Step 3: a bigger VM size (report only).",
        messages=["Snapshot operation failed due to inadequate VM resources."],
        implemented=True,
    ),
    _e(
        "ExtensionSnapshotFailedNoSecureNetwork",
        "error",
        "Snapshot failed: no secure network communication channel",
        [_W],
        A_COMMON_ERRORS,
        "Every .NET Framework version key under `HKLM\\SOFTWARE\\Microsoft\\.NETFramework` (and the 32-bit view"
        " `HKLM\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework`).",
        "Add `SchUseStrongCrypto` = dword `1` to each version key (`v2.0.50727`, `v4.0.30319`, …).",
        messages=["The snapshot operation failed because of failure to create a secure network communication channel."],
        field_note=(
            "The doc says the .NET Framework versions are 'under HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft'; the"
            " version keys are under `...\\Microsoft\\.NETFramework`, and 32-bit .NET reads the `WOW6432Node`"
            " view, so the collection sets the value in both views."
        ),
        implemented=True,
    ),
    _e(
        "ExtensionVCRedistInstallationFailure",
        "error",
        "Snapshot failed: Visual C++ Redistributable could not be installed",
        [_W],
        A_COMMON_ERRORS,
        "`HKLM\\SYSTEM\\CurrentControlSet\\Services\\Msiserver` `Start` must be `3` (manual), not `4` (disabled);"
        " VC++ 2013 x64 redistributable installed.",
        "Set `Start` = 3; install `vcredist2013_x64.exe` from"
        " `C:\\Packages\\Plugins\\Microsoft.Azure.RecoveryServices.VMSnapshot\\<agentVersion>`; if the installer"
        " service still fails: `MSIEXEC /UNREGISTER` then `MSIEXEC /REGISTER`.",
        messages=[
            "The snapshot operation failed because of failure to install Visual C++ Redistributable for Visual"
            " Studio 2012."
        ],
        field_note=(
            "The doc's `MSIEXEC /REGISTER` is not a msiexec switch: the documented ones are `/unregister` and"
            " `/regserver`, so the collection runs `msiexec.exe /unregister` then `msiexec.exe /regserver` (opt-in)."
            " `Start` = 3 is the start type the Service Control Manager stores; the collection sets it through the"
            " SCM (win_service `start_mode: manual`), which also updates the running configuration. VC++ 2013 x64 is"
            " recognised by its bundle product codes ({050d4fc8-5d48-4b8f-8972-47c82c46020f} 12.0.30501,"
            " {042d26ef-3dbe-4c25-95d3-4c1b11b235a7} 12.0.40664, {ef6b00ec-13e1-4c25-9064-b2f383cb8412} 12.0.40660)"
            " or its display name, in both registry views."
        ),
        implemented=True,
        disruptive_steps=["re-register the Windows Installer service"],
    ),
    _e(
        "ExtensionSnapshotBitlockerError",
        "error",
        "Snapshot failed: a drive is locked by BitLocker",
        [_W],
        A_COMMON_ERRORS,
        'Volumes locked by BitLocker ("This drive is locked by BitLocker Drive Encryption").',
        "Doc: turn off BitLocker on all drives. This lowers security: the collection reports by default and"
        " unlocks or decrypts only when the user opts in explicitly.",
        messages=[
            "The snapshot operation failed with the Volume Shadow Copy Service (VSS) operation error This drive is"
            " locked by BitLocker Drive Encryption. You must unlock this drive from the Control Panel."
        ],
        disruptive_steps=["unlock a BitLocker volume", "turn off BitLocker"],
        field_note=(
            "Only a *locked* volume breaks the snapshot; turning BitLocker off on every drive, as the doc says, is"
            " not needed for an unlocked one. Neither ansible.windows nor community.windows has a BitLocker module,"
            " so the opt-in steps run `Unlock-BitLocker` / `Disable-BitLocker` through win_powershell with the"
            " recovery password as a script parameter: never on a command line, out of every log and result;"
            " never `-off` where Azure Disk Encryption manages the volumes (decrypt through Azure)."
        ),
        implemented=True,
    ),
    _e(
        "UserErrorFsFreezeFailed",
        "error",
        "Failed to freeze one or more mount points for a file-system consistent snapshot",
        [_L],
        "usererrorfsfreezefailed---failed-to-freeze-one-or-more-mount-points-of-the-vm-to-take-a-file-system"
        "-consistent-snapshot",
        "`tune2fs -l <dev> | grep 'Filesystem state'` for every mounted ext2/3/4 device.",
        "Unmount each device whose state is not `clean`, `fsck` it, mount it again (same options), retry the"
        " backup. Disruptive: opt-in, never on `/` or a busy mount.",
        messages=["Failed to freeze one or more mount-points of the VM to take a file-system consistent snapshot."],
        field_note=(
            "The doc's `tune2fs` check applies to ext2/3/4 only. The collection also reports, read-only, an xfs the"
            " kernel shut down (directory reads fail with EIO; `xfs_repair -n` needs the filesystem unmounted) and a"
            " btrfs with non-zero `btrfs device stats` error counters or a failed last scrub; their repair needs an"
            " unmount or a long scrub, so it is never automated. A mount that must never be frozen can instead be"
            " listed in `mountstoskip` (comma-separated exact mount points, lowercase key) under `[SnapshotThread]` in"
            " `/etc/azure/vmbackup.conf`, the only configuration file the Linux extension reads"
            " (Azure/azure-linux-extensions `VMBackup`); such mounts are not frozen, so the scan does not count them."
        ),
        implemented=True,
        disruptive_steps=["unmount, fsck and remount a filesystem"],
    ),
    _e(
        "UserErrorVmNotInDesirableState",
        "error",
        "VM is not in a state that allows backups",
        [_C, _L],
        "usererrorvmnotindesirablestate---vm-is-not-in-a-state-that-allows-backups",
        "VM power state must be running, stopped or deallocated (wait if transitional); Linux with a"
        " security-hardened kernel module.",
        "Exclude the Azure Linux agent path `/var/lib/waagent` from the security policy (SELinux, fapolicyd,"
        " AppArmor — whichever is active) and make sure the backup extension is installed.",
        aliases=["VmNotInDesirableState"],
        messages=["VM is not in a state that allows backups."],
        field_note=(
            "In the guest the collection handles the Linux part only; the VM power state is read from Azure by the"
            " role's control-plane part (a transitional state is waited for and reported, never changed)."
            ' The doc names no tool for "exclude /var/lib/waagent". Per mechanism the'
            " collection: SELinux - a local file-context rule labelling the extension handler directories"
            " (`/var/lib/waagent/<Publisher>.<Type>-<version>`) `bin_t`, then restorecon; fapolicyd - a rules.d file"
            " allowing root processes to open and run files under `/var/lib/waagent/` (trust entries would pin hashes"
            " the agent changes on every extension update), compiled with fagenrules, reloaded only when opted in;"
            " AppArmor - a local override only for a profile that confines the agent (none ships with it). Extensions"
            " use `/var/lib/waagent` whatever `Lib.Dir` says (Azure/WALinuxAgent issue 2949), and a `noexec` mount of"
            " it also stops them (Azure/WALinuxAgent PR 2859): reported."
        ),
        implemented=True,
        disruptive_steps=["reload the running fapolicyd rules or AppArmor profile"],
    ),
    _e(
        "UserErrorVmProvisioningStateFailed",
        "error",
        "VM is in a failed provisioning state",
        [_C, _W, _L],
        A_COMMON_ERRORS,
        "VM provisioning state failed because an extension failed.",
        "Remove the failed extension and restart the VM (opt-in); if all extensions run, make sure the VM agent"
        " service runs and restart it.",
        messages=["The VM is in failed provisioning state: Please restart the VM and make sure the VM is running"],
        implemented=True,
        disruptive_steps=["remove the failed extension", "restart the VM", "restart the VM agent"],
    ),
    _e(
        "AzureVmOffline",
        "error",
        "Recovery Services extension not installed: the VM agent is missing",
        [_W, _L, _C],
        A_COMMON_ERRORS,
        "VM agent installed; the VM's `provisionVMAgent` flag.",
        "Install the VM agent, then re-register the VM.",
        numeric_codes=[380008],
        messages=["Failed to install Microsoft Recovery Services extension as the virtual machine is not running"],
        implemented=True,
        disruptive_steps=["install the VM agent"],
    ),
    _e(
        "NoVmAgent",
        "condition",
        "No VM agent on the virtual machine",
        [_W, _L],
        A_COMMON_ERRORS,
        "VM agent present.",
        "Install the agent (see VmAgentNotRunning).",
        messages=["No VM agent present on virtual machine: Install any prerequisite and the VM agent."],
        implemented=True,
        disruptive_steps=["install the VM agent"],
    ),
    # ---- Conditions without their own code (fixes.md, second table) -------------------------
    _e(
        "VmAgentNotRunning",
        "condition",
        "VM agent missing, outdated or not running",
        [_W, _L],
        A_VM_AGENT,
        "Windows: service `WindowsAzureGuestAgent` (Windows Azure Guest Agent) exists and runs;"
        " `C:\\WindowsAzure\\Packages\\WaAppAgent.exe` product version >= `2.6.1198.718`. Linux: package"
        " `walinuxagent` (Debian/Ubuntu) / `WALinuxAgent` (RHEL family, SUSE) from the distribution repository,"
        " service `walinuxagent`/`waagent` running.",
        "Windows: start the service; install/update from an agent MSI the user supplies (path or URL), never"
        " during a running backup. Linux: install/update from the distribution repository only, never from"
        " GitHub; start the service.",
        field_note=(
            "Microsoft's diagnostic (Azure/azure-support-scripts `vmassist`) reads the Windows agent version from"
            " `HKLM\\SOFTWARE\\Microsoft\\Virtual Machine\\Guest` `GuestAgentVersion` and also checks services"
            " RdAgent, Winmgmt and KeyIso. On Linux, `Extensions.Enabled=n` in `/etc/waagent.conf` blocks every"
            " extension (MicrosoftDocs/azure-docs issue 42262) and `/var` or `/var/lib/waagent` mounted `noexec`"
            " breaks extensions (Azure/WALinuxAgent PR 2859); the doc mentions neither."
        ),
        implemented=True,
        disruptive_steps=["update the VM agent", "restart the VM agent"],
    ),
    _e(
        "SqlServerSnapshotDelay",
        "condition",
        "SQL Server backups delay the snapshot",
        [_W],
        A_SNAPSHOT,
        "Where SQL Server is installed: `HKLM\\SOFTWARE\\Microsoft\\BCDRAGENT` `USEVSSCOPYBACKUP`.",
        "Set `USEVSSCOPYBACKUP` (REG_SZ) = `TRUE`.",
        field_note=(
            "The value is a string: REG_SZ `TRUE`, as the snapshot-timeout troubleshooting page"
            " (backup-azure-troubleshoot-vm-backup-fails-snapshot-timeout) states; not a DWORD."
        ),
        implemented=True,
    ),
    _e(
        "OtherBackupProductFailing",
        "condition",
        "Another backup product fails, not Azure Backup",
        [_W],
        A_BASIC,
        "Event log entries (e.g. event 517, Windows Server Backup).",
        "Report only: check whether the Azure IaaS VM backup succeeded; if it did, the failure belongs to the"
        " other product.",
        report_only=True,
    ),
    _e(
        "OtherBackupServiceRunning",
        "condition",
        "Another backup service is running",
        [_W, _L],
        A_BASIC,
        "Known backup agents.",
        "Report only.",
        report_only=True,
    ),
    _e(
        "SnapshotExtensionLoadFailed",
        "condition",
        "Snapshot extension fails to update or load",
        [_W, _L, _C],
        A_BASIC,
        "Extension state.",
        "Uninstall the extension to force a reload (control plane); the next backup reinstalls it.",
        field_note=(
            "As for ExtensionStuckInDeletionState: `azure_rm_virtualmachineextension` has no check mode and always"
            " reports changed on removal, so the collection looks first and deletes only what exists."
        ),
        disruptive_steps=["uninstall the backup extension"],
        implemented=True,
    ),
    _e(
        "HighResourceUsage",
        "condition",
        "CPU or memory above 90 %",
        [_W, _L],
        A_SNAPSHOT,
        "Current CPU and memory utilisation.",
        "Report only: run an on-demand backup, or move the schedule to a quieter time.",
        report_only=True,
    ),
    _e(
        "TooManyVmsPerCloudService",
        "condition",
        "More than four VMs of one cloud service start backup together",
        [_C],
        A_SNAPSHOT,
        "Backup policies and their start times.",
        "Report only: spread the VMs over several policies, start times at least an hour apart.",
        report_only=True,
    ),
    _e(
        "GuestDhcpDisabled",
        "condition",
        "Guest DHCP must be enabled",
        [_W, _L],
        A_NETWORKING,
        "Every guest NIC uses DHCP (static private IPs are set in Azure, not in the guest).",
        "Report only: set the private IP as static on the Azure NIC and switch the guest NIC to DHCP from the"
        " console; enabling DHCP from a remote session can cut the connection to the VM.",
        field_note=(
            "The doc lists this as a check, not a fix. Changing a NIC's addressing from Ansible over that same NIC"
            " cuts the session half-way, so the collection reports the NIC and leaves the change to the operator."
        ),
        report_only=True,
    ),
    _e(
        "AzureEndpointUnreachable",
        "condition",
        "Azure endpoints do not resolve or cannot be reached",
        [_W, _L],
        A_NETWORKING,
        "DNS resolves Azure storage/management names; route to Azure IPs; proxy.",
        "Report only: the report names the failing name or address; fix DNS, routes, NSG rules or the proxy so"
        " the Azure endpoints resolve and are reachable.",
        field_note=(
            "Microsoft's diagnostic (vmassist) also checks the wire server 168.63.129.16 (ports 80 and 32526) and"
            " IMDS; the collection's tests never send traffic to those addresses."
        ),
        report_only=True,
    ),
    _e(
        "VmStateWrongAfterRdpShutdown",
        "condition",
        "VM shut down from RDP shows a wrong state",
        [_C],
        A_SNAPSHOT,
        "Portal power state vs the guest.",
        "Report only: shut the VM down with the portal's Shutdown option.",
        report_only=True,
    ),
    # ---- Errors that are report only ---------------------------------------------------------
    _e(
        "CopyingVHDsFromBackUpVaultTakingLongTime",
        "error",
        "Copying backed-up data from the vault timed out",
        [_C],
        "copyingvhdsfrombackupvaulttakinglongtime---copying-backed-up-data-from-vault-timed-out",
        "The backup job's error.",
        "Report only: usually a transient storage error or too few storage IOPS; follow the VM backup best"
        " practices and retry.",
        messages=["Copying backed up data from vault timed out"],
        report_only=True,
    ),
    _e(
        "ResourceNotFound",
        "error",
        "The VM no longer exists",
        [_C],
        A_COMMON_ERRORS,
        "The backup job's error; whether the protected VM still exists.",
        "Report only: recreate the VM with the same name and resource group, or stop protecting it (with or"
        " without deleting the backup data).",
        aliases=["BCMV2VMNotFound"],
        numeric_codes=[320001, 400094],
        messages=["Could not perform the operation as VM no longer exists.", "Virtual machine doesn't exist"],
        report_only=True,
        disruptive_steps=["stop protection of the VM", "recreate the VM"],
    ),
    _e(
        "UserErrorBCMPremiumStorageQuotaError",
        "error",
        "Not enough free space in the premium storage account to copy the snapshot",
        [_C],
        A_COMMON_ERRORS,
        "Used space of the premium storage account.",
        "Report only: keep a premium storage account at most 50 % allocated (17.5 TB).",
        messages=[
            "Could not copy the snapshot of the virtual machine, due to insufficient free space in the storage account"
        ],
        report_only=True,
    ),
    _job(
        "JobCancelNotSupported",
        "Cancellation is not supported for this job type",
        "Cancellation isn't supported for this job type: Please wait until the job completes.",
        "Report only: wait until the job completes.",
    ),
    _job(
        "JobNotCancellable",
        "The job is not in a cancelable state",
        "The job isn't in a cancelable state: Please wait until the job completes.",
        "Report only: the job is most likely almost complete; wait until it completes.",
    ),
    _job(
        "JobCancelNotInProgress",
        "The job cannot be canceled because it is not in progress",
        "Backup failed to cancel the job because it isn't in progress: Cancellation is supported only for jobs in"
        " progress. Try canceling an in-progress job.",
        "Report only: the job is in a transitory state; wait a minute and retry the cancellation.",
    ),
    _job(
        "JobCancelFailed",
        "Backup failed to cancel the job",
        "Backup failed to cancel the job: Please wait until the job finishes.",
        "Report only: wait until the job finishes.",
    ),
    _restore(
        "RestoreCloudInternalError",
        "Restore failed with a cloud internal error",
        "Restore failed with a cloud internal error.",
        "Report only: check whether the target cloud service has DNS settings or a reserved IP with a stopped VM,"
        " or the VM has a special network configuration (load balancer, several reserved IPs, several NICs);"
        " restore to a new cloud service or follow the restore considerations for special network configurations.",
    ),
    _restore(
        "RestoreDnsNameTaken",
        "The selected DNS name is already taken",
        "The selected DNS name is already taken: Specify a different DNS name and try again.",
        "Report only: choose a different VM name (the cloud service name must be unique).",
    ),
    _restore(
        "RestoreVnetConfigInvalid",
        "The specified virtual network configuration is not correct",
        "The specified virtual network configuration isn't correct: Specify a different virtual network"
        " configuration and try again.",
    ),
    _restore(
        "RestoreReservedIpMismatch",
        "The cloud service's reserved IP does not match the VM being restored",
        "The specified cloud service is using a reserved IP that doesn't match the configuration of the virtual"
        " machine being restored: Specify a different cloud service that isn't using a reserved IP. Or choose"
        " another recovery point to restore from.",
    ),
    _restore(
        "RestoreInputEndpointLimit",
        "The cloud service has reached its input endpoint limit",
        "The cloud service has reached its limit on the number of input endpoints: Retry the operation by"
        " specifying a different cloud service or by using an existing endpoint.",
    ),
    _restore(
        "RestoreRegionMismatch",
        "Vault and target storage account are in different regions",
        "The Recovery Services vault and target storage account are in two different regions: Make sure the"
        " storage account specified in the restore operation is in the same Azure region as your Recovery"
        " Services vault.",
    ),
    _restore(
        "RestoreStorageAccountNotSupported",
        "The storage account for the restore is not supported",
        "The storage account specified for the restore operation isn't supported: Only Basic or Standard storage"
        " accounts with locally redundant or geo-redundant replication settings are supported. Select a supported"
        " storage account.",
    ),
    _restore(
        "RestoreStorageAccountNotOnline",
        "The storage account type for the restore is not online",
        "The type of storage account specified for the restore operation isn't online: Make sure that the storage"
        " account specified in the restore operation is online.",
        "Report only: usually a transient Azure Storage error or an outage; choose another storage account.",
    ),
    _restore(
        "RestoreResourceGroupQuotaReached",
        "The resource group quota has been reached",
        "The resource group quota has been reached: Delete some resource groups from the Azure portal or contact"
        " Azure Support to increase the limits.",
    ),
    _restore(
        "RestoreSubnetNotFound",
        "The selected subnet does not exist",
        "The selected subnet doesn't exist: Select a subnet that exists.",
    ),
    _restore(
        "RestoreNoSubscriptionAccess",
        "The Backup service has no access to resources in the subscription",
        "The Backup service doesn't have authorization to access resources in your subscription.",
        "Report only: restore the disks, then create the VM from the restored disks with PowerShell.",
    ),
    _e(
        "BackupOrRestoreTakesLong",
        "condition",
        "Backup takes over 12 hours or restore over 6 hours",
        [_C],
        A_TAKES_TIME,
        "Duration of backup jobs (> 12 h) and restore jobs (> 6 h).",
        "Report only: review the VM backup best practices and performance considerations.",
        report_only=True,
    ),
)

_FIELD_NAMES = tuple(f.name for f in fields(Entry))


def _key(value):
    """Case-, underscore-, dash- and space-insensitive key: role names resolve like codes."""
    return re.sub(r"[\s_\-]", "", str(value)).casefold()


def _build_index():
    index = {}
    for entry in CATALOG:
        names = (entry.code,) + entry.aliases + tuple(str(n) for n in entry.numeric_codes)
        if entry.role:
            names += (entry.role,)
        for name in names:
            key = _key(name)
            other = index.get(key)
            if other is not None and other is not entry:
                raise ValueError(f"catalog: {name!r} names both {other.code} and {entry.code}")
            index[key] = entry
    return index


_INDEX = _build_index()


def all_codes():
    """Canonical codes, in catalog order."""
    return [entry.code for entry in CATALOG]


def implemented_codes():
    return [entry.code for entry in CATALOG if entry.implemented]


def roles():
    """``{code: role}`` for every entry the collection fixes (built or planned)."""
    return {entry.code: entry.role for entry in CATALOG if entry.role}


def valid_codes_text():
    return "valid codes (aliases, numeric codes and role names are accepted too, case-insensitive): " + ", ".join(
        all_codes()
    )


def lookup(code):
    """Return the catalog entry for a code, an alias, a numeric code (int or str) or a role name.

    Case-insensitive. Raises ``KeyError`` naming the input and listing the valid codes.
    """
    if isinstance(code, bool) or not isinstance(code, (str, int)):
        raise KeyError(f"unknown error code {code!r} (expected a string or an integer); {valid_codes_text()}")
    if (isinstance(code, int) and code < 0) or (isinstance(code, str) and re.match(r"\s*[-+]\s*\d", code)):
        # _key() drops dashes, so "-380008" would otherwise read as 380008: a numeric code has no sign
        raise KeyError(f"unknown error code {code!r} (a numeric error code has no sign); {valid_codes_text()}")
    entry = _INDEX.get(_key(code))
    if entry is None:
        raise KeyError(f"unknown error code {code!r}; {valid_codes_text()}")
    return entry


def normalize_codes(codes):
    """Map codes/aliases/numbers (a list, or one comma- or space-separated string) to canonical codes.

    Keeps the first-seen order and drops duplicates. Raises ``ValueError`` naming every unknown input
    and listing the valid codes, so a playbook can fail before it touches any host.
    """
    if codes is None or (isinstance(codes, str) and not codes.strip()):
        return []  # unset or blank (an empty survey answer): the caller's "every code"
    given = codes
    if isinstance(codes, (str, int)) and not isinstance(codes, bool):
        codes = [codes]
    if not isinstance(codes, Sequence):
        raise ValueError(f"error codes must be a list or a comma-separated string, got {type(codes).__name__}")
    items = []
    for item in codes:
        if isinstance(item, str):
            items.extend(part for part in re.split(r"[\s,]+", item) if part)
        else:
            items.append(item)
    if codes and not items:
        raise ValueError(
            f"error codes {given!r} name no code: leave vmbackup_error_codes unset (or empty) for every code, "
            "or name the codes"
        )
    result, unknown = [], []
    for item in items:
        try:
            code = lookup(item).code
        except KeyError:
            unknown.append(
                f"{item!r} (a numeric code has no sign)" if re.match(r"\s*[-+]\s*\d", str(item)) else repr(item)
            )
            continue
        if code not in result:
            result.append(code)
    if unknown:
        raise ValueError(
            "unknown error code{}: {}; {}".format(
                "s" if len(unknown) > 1 else "", ", ".join(unknown), valid_codes_text()
            )
        )
    return result
