# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Packages: ``ansible.windows.win_package`` and the ``msiexec`` commands of the installer fix.

Follows ansible.windows ``win_package.ps1`` (its ``registry`` provider for an .exe, ``msi`` for
an .msi): ``state: present`` needs ``path``; a local ``path`` that does not exist fails "the file at
the path '<path>' cannot be reached" (not in check mode); with a URL and a ``product_id`` that is
installed nothing is downloaded; the package is "installed" when ``product_id`` (or, for an MSI,
the product code inside the file) is listed in ``installed_products``; ``rc`` must be in
``expected_return_code`` (default 0, 3010) else "unexpected rc from ..."; 3010 sets ``reboot_required``.

State model (docs/simulator.md): a package is a file (``files``) or a URL (``downloads``) whose
properties carry ``package: {product_id, name, version, rc, silent_switch, effects}``.
``effects`` is merged into the state when the package installs (``files``, ``registry``,
``services``...), so an agent MSI can put ``WaAppAgent.exe``, ``GuestAgentVersion`` and a running
``WindowsAzureGuestAgent`` in place.

Assumptions (none of this ran on Windows):

- An .exe without its ``silent_switch`` (e.g. ``/quiet``) in ``arguments`` would wait for a user
  on Windows; the simulator fails it instead of hanging.
- An .exe given without ``product_id`` is never "installed" for win_package (the registry
  provider has no id to look up), so it runs on every call — as on Windows.
- ``msiexec.exe /unregister`` changes nothing visible; ``msiexec.exe /regserver`` (re)registers
  the ``msiserver`` service with start mode manual (demand start), creating it when missing.
"""

from __future__ import annotations

import hashlib
import ntpath
import re

from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim import files
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.args import fail

_TEMP = "C:\\Users\\azureadmin\\AppData\\Local\\Temp"


def _pid(value) -> str:
    return str(value or "").strip().lower()


def find_product(state, product_id) -> str | None:
    """The key of ``installed_products`` for ``product_id`` (case-insensitive), or None."""
    want = _pid(product_id)
    if not want:
        return None
    for key in state.section("installed_products"):
        if _pid(key) == want:
            return key
    return None


def merge(target: dict, effects: dict) -> None:
    """Deep-merge ``effects`` into ``target`` (dicts merge, everything else replaces)."""
    for key, value in (effects or {}).items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = value


def _package(state, path: str, is_url: bool):
    if is_url:
        for url, props in state.section("downloads").items():
            if str(url) == path:
                return props or {}
        return None
    found = files.find_file(state, path)
    return None if found is None else found[1]


def win_package(ctx) -> dict:
    p, state = ctx.params, ctx.state
    want = p["state"]
    path = p.get("path")
    product_id = p.get("product_id")
    if want == "present" and not path:
        raise fail("state is present but all of the following are missing: path")
    if want == "absent" and not (path or product_id):
        raise fail("state is absent but any of the following are missing: path, product_id")
    if p.get("creates_path") or p.get("creates_service") or p.get("creates_version"):
        raise fail("simulator: win_package creates_* options are not modelled")
    is_url = bool(path) and str(path).lower().startswith("http")
    result = {"changed": False, "reboot_required": False, "rc": 0}

    package = None
    installed = bool(product_id) and find_product(state, product_id) is not None
    if path and not (is_url and product_id and installed and want == "present"):
        package = _package(state, path, is_url)
        if package is None and is_url:
            raise fail(
                f"Error downloading '{path}' to '{_TEMP}\\{ntpath.basename(str(path))}': "
                "The remote server returned an error: (404) Not Found.",
                **result,
            )
        if package is None and not ctx.check_mode:
            raise fail(f"the file at the path '{path}' cannot be reached", **result)
    spec = (package or {}).get("package") or {}
    if not product_id and str(path or "").lower().endswith(".msi"):
        product_id = spec.get("product_id")  # the msi provider reads the ProductCode from the file
        installed = bool(product_id) and find_product(state, product_id) is not None

    changed = (want == "present") != installed
    result["changed"] = changed
    if not changed or ctx.check_mode:
        return result

    if want == "absent":
        del state.section("installed_products")[find_product(state, product_id)]
        state.touch()
        return result

    arguments = p.get("arguments")
    if isinstance(arguments, list):
        arguments = " ".join(str(a) for a in arguments)
    arguments = str(arguments or "")
    switch = spec.get("silent_switch")
    if switch and str(path).lower().endswith(".exe") and switch.lower() not in arguments.lower().split():
        raise fail(
            f"simulator: '{path}' run without {switch} would wait for user input on Windows (arguments: {arguments!r})"
        )
    rc = int(spec.get("rc", 0))
    command = f'"{path}" {arguments}'.strip() if not str(path).lower().endswith(".msi") else f'msiexec.exe /i "{path}"'
    result.update(rc=rc, stdout="", stderr="", reboot_required=rc == 3010)
    result["checksum"] = hashlib.sha1(f"{path}|{spec.get('version', '')}".encode()).hexdigest().upper()  # noqa: S324
    if rc not in [int(c) for c in p.get("expected_return_code") or [0, 3010]]:
        raise fail(f"unexpected rc from '{command}': see rc, stdout, and stderr for more details", **result)
    merge(state.data, spec.get("effects") or {})
    key = spec.get("product_id") or product_id
    if key:
        existing = find_product(state, key)
        products = state.section("installed_products")
        products[existing or key] = {
            "name": spec.get("name") or ntpath.basename(str(path)),
            "version": str(spec.get("version") or ""),
            **({"wow6432": bool(spec["wow6432"])} if "wow6432" in spec else {}),
        }
    state.touch()
    return result


MSIEXEC_RE = re.compile(r"^(?:.*/)?msiexec(?:\.exe)?$")


def msiexec(state, words: list[str]) -> tuple[int, str, str] | None:
    """``msiexec /unregister`` and ``msiexec /regserver``; None for any other command."""
    if len(words) != 2 or not MSIEXEC_RE.match(words[0]) or words[1] not in ("/unregister", "/regserver"):
        return None
    if words[1] == "/regserver":
        found = state.find_service("msiserver")
        if found is None:
            state.services["msiserver"] = {
                "display_name": "Windows Installer",
                "state": "stopped",
                "start_mode": "manual",
                "username": "LocalSystem",
                "dependencies": ["RpcSs"],
            }
            state.touch()
        elif found[1].get("start_mode") != "manual":
            found[1]["start_mode"] = "manual"
            state.touch()
    return 0, "", ""
