# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files and certificates: ``win_stat``, ``community.windows.win_file_version``,
``win_certificate_info`` (read-only, over the ``files`` and ``certificates`` sections).

Assumptions: paths match case-insensitively; a path is a directory when marked ``isdir: true``
or when a listed file lies below it; file contents are not modelled, so ``checksum`` is a
stable SHA-1 over the path, version and size (synthetic, but it changes when they change).
"""

from __future__ import annotations

import hashlib
import ntpath

from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.args import fail


def _norm(path: str) -> str:
    return str(path).replace("/", "\\").rstrip("\\").lower()


def find_file(state, path: str) -> tuple[str, dict] | None:
    target = _norm(path)
    for key, props in state.section("files").items():
        if _norm(key) == target:
            props = props or {}
            if props.get("exists", True) is False:
                return None
            return key, props
    prefix = target + "\\"
    if any(_norm(k).startswith(prefix) for k in state.section("files")):
        return path, {"isdir": True}
    return None


def win_stat(ctx) -> dict:
    p = ctx.params
    found = find_file(ctx.state, p["path"])
    if found is None:
        return {"changed": False, "stat": {"exists": False}}
    path, props = found
    isdir = bool(props.get("isdir", False))
    filename = ntpath.basename(str(path).rstrip("\\"))
    stat = {
        "exists": True,
        "path": str(path),
        "filename": filename,
        "extension": "" if isdir else ntpath.splitext(filename)[1],
        "attributes": "Directory" if isdir else "Archive",
        "isarchive": not isdir,
        "isdir": isdir,
        "ishidden": bool(props.get("ishidden", False)),
        "isjunction": False,
        "islnk": False,
        "isreadonly": bool(props.get("isreadonly", False)),
        "isreg": not isdir,
        "isshared": False,
        "nlink": 1,
        "owner": props.get("owner", "BUILTIN\\Administrators"),
        "creationtime": float(props.get("creationtime", 1640995200.0)),
        "lastaccesstime": float(props.get("lastaccesstime", 1640995200.0)),
        "lastwritetime": float(props.get("lastwritetime", 1640995200.0)),
        "hlnk_targets": [],
    }
    if p.get("get_size"):
        stat["size"] = int(props.get("size", 0))
    if p.get("get_checksum") and not isdir:
        algo = p.get("checksum_algorithm") or "sha1"
        seed = f"{_norm(path)}|{props.get('version', '')}|{props.get('size', 0)}".encode()
        stat["checksum"] = hashlib.new(algo, seed).hexdigest()
    return {"changed": False, "stat": stat}


def win_file_version(ctx) -> dict:
    path = ctx.params["path"]
    found = find_file(ctx.state, path)
    result = {"changed": False, "win_file_version": {}}
    if found is None or found[1].get("isdir"):
        raise fail(f"Specified path {path} does not exist or is not a file.", **result)
    if ntpath.splitext(str(path))[1].lower() not in (".exe", ".dll"):
        raise fail(f"Specified path {path} is not a valid file type; must be DLL or EXE.", **result)
    version = str(found[1].get("version", ""))
    parts = (version.split(".") + ["0", "0", "0", "0"])[:4] if version else ["", "", "", ""]
    result["win_file_version"] = {
        "path": str(path),
        "file_version": version,
        "product_version": str(found[1].get("product_version", version)),
        "file_major_part": parts[0],
        "file_minor_part": parts[1],
        "file_build_part": parts[2],
        "file_private_part": parts[3],
        "file_version_raw": ".".join(parts) if version else "",
    }
    return result


_CERT_KEYS = (
    "archived",
    "cert_data",
    "dns_names",
    "extensions",
    "friendly_name",
    "has_private_key",
    "intended_purposes",
    "is_ca",
    "issued_by",
    "issued_to",
    "issuer",
    "key_usages",
    "path_length_constraint",
    "public_key",
    "serial_number",
    "signature_algorithm",
    "ski",
    "subject",
    "thumbprint",
    "valid_from",
    "valid_from_iso8601",
    "valid_to",
    "valid_to_iso8601",
    "version",
)


def _cert(entry: dict) -> dict:
    subject = str(entry.get("subject", ""))
    issuer = str(entry.get("issuer", subject))
    cn = subject.split("CN=", 1)[1].split(",")[0] if "CN=" in subject else subject
    icn = issuer.split("CN=", 1)[1].split(",")[0] if "CN=" in issuer else issuer
    out = {
        "archived": False,
        "dns_names": [cn],
        "extensions": [],
        "friendly_name": "",
        "has_private_key": False,
        "issued_by": icn,
        "issued_to": cn,
        "issuer": issuer,
        "serial_number": "",
        "signature_algorithm": "sha256RSA",
        "subject": subject,
        "version": 3,
    }
    out.update({k: v for k, v in entry.items() if k in _CERT_KEYS})
    out["thumbprint"] = str(entry.get("thumbprint", "")).upper()
    return out


def win_certificate_info(ctx) -> dict:
    p = ctx.params
    stores = ctx.state.section("certificates")
    want = f"{p['store_location']}\\{p['store_name']}".lower()
    certs = []
    for store, entries in stores.items():
        s = str(store).lower()
        if s == want or (p["store_location"] == "LocalMachine" and s == str(p["store_name"]).lower()):
            certs.extend(entries or [])
    if p.get("thumbprint"):
        certs = [c for c in certs if str(c.get("thumbprint", "")).upper() == str(p["thumbprint"]).upper()]
    out = sorted((_cert(c) for c in certs), key=lambda c: c["thumbprint"])
    return {"changed": False, "exists": bool(out), "certificates": out}
