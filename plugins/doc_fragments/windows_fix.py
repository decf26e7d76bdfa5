# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Attributes shared by every Windows fix: an action plugin that probes, plans on the controller
and drives ansible.windows modules. Each module still documents its own check_mode and diff_mode."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  platform:
    platforms: windows
"""
