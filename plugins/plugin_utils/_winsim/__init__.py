# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows simulator internals (internal to vmbackup.azure, no stable API).

The connection plugin ``vmbackup.azure.winsim`` hands every remote execution to
:func:`runner.run`. One file per job:

- ``manifest``: read the PowerShell exec manifest Ansible sends (which module, which args).
- ``docs``: the installed module documentation (options, RETURN keys, check-mode support).
- ``args``: Ansible.Basic-like argument validation against those docs.
- ``state``: the per-host YAML state model (load, validate, atomic save).
- ``vssadmin``: ``vssadmin list writers`` rendered in the host's locale.
- ``services``, ``registry``, ``files``, ``commands``: the module emulations.
- ``modules``: which module name maps to which emulation.
- ``runner``: glue (validate, check mode, emulate, save, log).

Nothing here ever ran on Windows: behaviour follows the ansible.windows module sources and
docs installed with the ``ansible`` package; assumptions are written next to the code.
"""
