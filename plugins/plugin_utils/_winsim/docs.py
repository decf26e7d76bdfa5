# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The installed documentation of a module: what ``ansible-doc -j <module>`` shows.

Loaded in-process with ansible's plugin loader, cached per process (a lookup costs a few ms).

Check-mode support: the ``attributes.check_mode.support`` of the doc when present. The
ansible.windows/community.windows docs installed here declare no ``attributes``, so the fallback
is what Ansible.Basic / Ansible.ModuleUtils.Legacy really obey: ``supports_check_mode`` in the
module's own source (``supports_check_mode = $true`` in the spec, or
``Parse-Args ... -supports_check_mode $true``). No declaration means no support (both
Ansible.Basic and Legacy default to ``$false``).
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass

_CHECK_MODE_RE = re.compile(r"supports_check_mode\s*=?\s*\$(true|false)", re.IGNORECASE)


class DocError(Exception):
    pass


@dataclass(frozen=True)
class ModuleDoc:
    fqcn: str
    options: dict
    returns: dict
    check_mode: bool | None  # None: unknown from the doc, decide from the source
    source_path: str


def _get_docs(fqcn: str):
    from ansible.plugins.loader import fragment_loader, module_loader
    from ansible.utils import plugin_docs

    if hasattr(plugin_docs, "get_plugin_docs"):
        doc, _examples, returns, _meta = plugin_docs.get_plugin_docs(
            fqcn, "module", module_loader, fragment_loader, False
        )
        return doc, returns
    filename, _ctx = plugin_docs.find_plugin_docfile(fqcn, "module", module_loader)  # pragma: no cover
    doc, _examples, returns, _meta = plugin_docs.get_docstring(filename, fragment_loader, plugin_type="module")
    return doc, returns


@functools.cache
def module_doc(fqcn: str) -> ModuleDoc:
    try:
        doc, returns = _get_docs(fqcn)
    except Exception as e:  # plugin loader raises several types
        raise DocError(f"simulator: no installed documentation for module {fqcn}: {e}") from None
    if not doc:
        raise DocError(f"simulator: no installed documentation for module {fqcn}")
    support = ((doc.get("attributes") or {}).get("check_mode") or {}).get("support")
    check_mode = None if support is None else support in ("full", "partial")
    filename = str(doc.get("filename") or "")
    source_path = os.path.splitext(filename)[0] + ".ps1" if filename else ""
    options = dict(doc.get("options") or {})
    if "free_form" in options:
        # Ansible's documentation convention: ``free_form`` documents the raw parameters, which
        # reach the module as ``_raw_params`` (ansible.windows <= 2.x documents win_shell this way).
        options.setdefault("_raw_params", options.pop("free_form"))
    return ModuleDoc(
        fqcn=fqcn,
        options=_legacy_choices(options, source_path),
        returns=returns or {},
        check_mode=check_mode,
        source_path=source_path,
    )


_LEGACY_PARAM_RE = re.compile(r"Get-AnsibleParam\b[^\n]*?-name\s+[\"']?(\w+)[\"']?([^\n]*)", re.IGNORECASE)


def _legacy_choices(options: dict, source_path: str) -> dict:
    """Ansible.ModuleUtils.Legacy modules validate only what their source says, not their docs.

    ``Get-AnsibleParam -name x`` without ``-validateset`` accepts any value even when the docs list
    choices (win_acl's ``inherit`` documents ContainerInherit/ObjectInherit, its source casts the
    string to ``InheritanceFlags``, so ``None`` works on Windows): drop those ``choices``.
    """
    try:
        with open(source_path, encoding="utf-8", errors="replace") as handle:
            source = handle.read()
    except OSError:
        return options
    if "Parse-Args" not in source:
        return options
    unchecked = {
        m.group(1).lower() for m in _LEGACY_PARAM_RE.finditer(source) if "-validateset" not in m.group(2).lower()
    }
    out = {}
    for name, spec in options.items():
        if isinstance(spec, dict) and spec.get("choices") and name.lower() in unchecked:
            spec = {k: v for k, v in spec.items() if k != "choices"}
        out[name] = spec
    return out


@functools.cache
def _check_mode_in_file(path: str) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return _check_mode_in_source(f.read())
    except OSError:
        return False


def _check_mode_in_source(source: str) -> bool:
    m = _CHECK_MODE_RE.search(source or "")
    return bool(m and m.group(1).lower() == "true")


def supports_check_mode(doc: ModuleDoc, source: str = "") -> bool:
    """Documented support, else the module source (sent in the manifest, or the installed file)."""
    if doc.check_mode is not None:
        return doc.check_mode
    if source and _CHECK_MODE_RE.search(source):
        return _check_mode_in_source(source)
    return _check_mode_in_file(doc.source_path) if doc.source_path else False
