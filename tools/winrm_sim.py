#!/usr/bin/env python3
"""A WS-Management (WinRM) front end for the Windows simulator, for tests, the demo and the bench.

    .venv/bin/python tools/winrm_sim.py --hosts hosts.json --workdir build/winrm [--latency 0.05]

`hosts.json` maps inventory host names to ``{"state": <state file>, "log": <execution log>}``. The
server listens on https://127.0.0.1:<port>/wsman/<host> (a real Windows host answers on
``/wsman``; one endpoint per simulated host stands in for one IP per VM), with a server certificate
signed by a CA generated on start (``<workdir>/ca.pem``) and HTTP basic auth (the account is
generated on start and written to ``<workdir>/account.json``, mode 0600, never printed).

It answers pywinrm as a Windows host's WinRM service does - Create shell, Command, Send (stdin),
Receive (stdout/stderr, exit code), Signal (terminate), Delete shell - and hands the command line
and the stdin Ansible sends (the PowerShell bootstrap wrapper and the exec manifest) to the
simulator's execution path, ``execute`` in ``plugins/plugin_utils/_winsim/runner.py``: the same code the
``vmbackup.azure.winsim`` connection plugin calls, so both write the same execution log.

Authentication: over HTTPS basic or NTLM (with the TLS channel binding checked); over HTTP (``--scheme
http``, Windows' default listener) NTLM only, with message encryption required, as pywinrm does it.
What it is not: Kerberos, CredSSP and certificate auth are not offered; WinRM quotas, idle timeouts
and shell options (codepage, environment, working directory) are accepted and ignored;
stdout/stderr are produced when stdin ends, not streamed.

The client side this answers, read from the installed sources (cited in the code below):
ansible-core ``ansible/plugins/connection/winrm.py`` (``_winrm_exec``, ``_winrm_send_input``,
``_winrm_get_raw_command_output``, ``close``) and pywinrm ``winrm/protocol.py`` (``open_shell``,
``run_command``, ``cleanup_command``, ``close_shell``, ``send_message`` fault parsing).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.server
import json
import os
import secrets
import socket
import ssl
import struct
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import tlsca  # tools/tlsca.py (tools/ is sys.path[0] when run, and on sys.path in the tests)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}
SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
CMD_RESOURCE = SHELL_URI + "/cmd"
ACTION_CREATE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
ACTION_DELETE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
ACTION_COMMAND = SHELL_URI + "/Command"
ACTION_SEND = SHELL_URI + "/Send"
ACTION_RECEIVE = SHELL_URI + "/Receive"
ACTION_SIGNAL = SHELL_URI + "/Signal"
STATE_DONE = SHELL_URI + "/CommandState/Done"
STATE_RUNNING = SHELL_URI + "/CommandState/Running"
# pywinrm turns this WSManFault code into WinRMOperationTimeoutError and retries the Receive
# (winrm/protocol.py, send_message: "if wsmanfault_code == 2150858793").
CODE_OPERATION_TIMEOUT = 2150858793
CODE_INVALID_SELECTORS = 2150858843  # ERROR_WSMAN_INVALID_SELECTORS: unknown ShellId
# One Receive answer carries at most this much stdout: a Windows host splits output over several
# Receive responses (CommandState Running until the last) to stay under MaxEnvelopeSize (153600
# bytes, pywinrm's build_wsman_header); base64 makes 3 bytes 4.
RECEIVE_CHUNK = 96 * 1024


@dataclass
class Command:
    command_line: str
    stdin: bytearray = field(default_factory=bytearray)
    stdin_done: bool = False
    output: list | None = None  # [(stream, bytes, end)] still to hand out, once the command ran
    rc: int = 0


@dataclass
class Shell:
    host: str
    commands: dict = field(default_factory=dict)


class WinRMError(Exception):
    """A SOAP fault: (http status, soap code, subcode, reason, wsman fault code)."""

    def __init__(self, status, code, subcode, reason, wsman_code):
        super().__init__(reason)
        self.status, self.code, self.subcode, self.reason, self.wsman_code = status, code, subcode, reason, wsman_code


def _envelope(action: str, relates_to: str, body: str) -> bytes:
    message_id = f"uuid:{str(uuid.uuid4()).upper()}"
    return (
        '<s:Envelope xml:lang="en-US" '
        f'xmlns:s="{NS["s"]}" xmlns:a="{NS["a"]}" xmlns:x="{NS["x"]}" xmlns:w="{NS["w"]}" '
        f'xmlns:rsp="{NS["rsp"]}" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">'
        "<s:Header>"
        f"<a:Action>{escape(action)}</a:Action>"
        f"<a:MessageID>{message_id}</a:MessageID>"
        "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
        f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo>"
        "</s:Header>"
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def _fault(relates_to: str, err: WinRMError) -> bytes:
    # The fields pywinrm reads (winrm/protocol.py send_message): Body/Fault/Code/Value,
    # Code/Subcode/Value, Reason/Text and Detail/WSManFault[@Code].
    body = (
        "<s:Fault>"
        f"<s:Code><s:Value>s:{err.code}</s:Value><s:Subcode><s:Value>w:{err.subcode}</s:Value></s:Subcode></s:Code>"
        f'<s:Reason><s:Text xml:lang="en-US">{escape(err.reason)}</s:Text></s:Reason>'
        f'<s:Detail><f:WSManFault xmlns:f="{NS["f"]}" Code="{err.wsman_code}" Machine="127.0.0.1">'
        f"<f:Message>{escape(err.reason)}</f:Message></f:WSManFault></s:Detail>"
        "</s:Fault>"
    )
    return _envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relates_to, body)


class Backend:
    """Shells and commands of every simulated host; runs a command through the simulator's runner."""

    def __init__(self, hosts: dict[str, dict], execute=None):
        self.hosts = hosts
        self.shells: dict[str, Shell] = {}
        self.lock = threading.Lock()
        if execute is None:
            from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim import runner

            execute = runner.execute
        self.execute = execute

    def _shell(self, root: ET.Element, host: str) -> tuple[str, Shell]:
        selector = root.find(".//w:SelectorSet/w:Selector[@Name='ShellId']", NS)
        shell_id = (selector.text or "").strip() if selector is not None else ""
        with self.lock:
            shell = self.shells.get(shell_id)
        if shell is None or shell.host != host:
            raise WinRMError(
                500,
                "Sender",
                "InvalidSelectors",
                "The WS-Management service cannot process the request "
                "because the request contained invalid selectors for the resource.",
                CODE_INVALID_SELECTORS,
            )
        return shell_id, shell

    def _command(self, shell: Shell, node: ET.Element | None) -> tuple[str, Command]:
        command_id = node.get("CommandId", "") if node is not None else ""
        command = shell.commands.get(command_id)
        if command is None:
            raise WinRMError(500, "Sender", "InvalidParameter", f"unknown CommandId {command_id!r}", 2150858882)
        return command_id, command

    def handle(self, host: str, root: ET.Element) -> tuple[str, str]:
        """(response action, response body) for one request envelope."""
        action = (root.findtext(".//a:Action", "", NS) or "").strip()
        resource = (root.findtext(".//w:ResourceURI", "", NS) or "").strip()
        if resource != CMD_RESOURCE:
            raise WinRMError(500, "Sender", "DestinationUnreachable", f"resource not served: {resource}", 2150858770)
        if action == ACTION_CREATE:
            # pywinrm open_shell takes the text of the first element whose Name is ShellId.
            shell_id = str(uuid.uuid4()).upper()
            with self.lock:
                self.shells[shell_id] = Shell(host=host)
            body = (
                "<x:ResourceCreated><a:Address>https://127.0.0.1/wsman</a:Address><a:ReferenceParameters>"
                f"<w:ResourceURI>{CMD_RESOURCE}</w:ResourceURI><w:SelectorSet>"
                f'<w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet></a:ReferenceParameters>'
                f"</x:ResourceCreated><rsp:Shell><rsp:ShellId>{shell_id}</rsp:ShellId>"
                "<rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams>"
                "</rsp:Shell>"
            )
            return ACTION_CREATE + "Response", body
        shell_id, shell = self._shell(root, host)
        if action == ACTION_DELETE:
            with self.lock:
                self.shells.pop(shell_id, None)
            return ACTION_DELETE + "Response", ""
        if action == ACTION_COMMAND:
            # ansible-core winrm.py _winrm_exec passes the whole "powershell.exe ... -EncodedCommand ..."
            # as the command (pywinrm run_command: rsp:Command, rsp:Arguments joined by spaces); WinRS
            # joins command and arguments with a space on the remote side.
            line = root.findtext(".//rsp:CommandLine/rsp:Command", "", NS) or ""
            arguments = root.findtext(".//rsp:CommandLine/rsp:Arguments", "", NS) or ""
            command_id = str(uuid.uuid4()).upper()
            shell.commands[command_id] = Command(command_line=(line + " " + arguments).strip())
            return (
                ACTION_COMMAND + "Response",
                f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>",
            )
        if action == ACTION_SEND:
            # ansible-core winrm.py _winrm_send_input: one rsp:Stream Name=stdin, base64, End=true on the last chunk.
            stream = root.find(".//rsp:Send/rsp:Stream", NS)
            dummy, command = self._command(shell, stream)
            command.stdin.extend(base64.b64decode((stream.text or "").encode("ascii")))
            if str(stream.get("End", "false")).lower() == "true":
                command.stdin_done = True
            return ACTION_SEND + "Response", "<rsp:SendResponse/>"
        if action == ACTION_RECEIVE:
            desired = root.find(".//rsp:Receive/rsp:DesiredStream", NS)
            command_id, command = self._command(shell, desired)
            return ACTION_RECEIVE + "Response", self._receive(host, command_id, command)
        if action == ACTION_SIGNAL:
            # pywinrm cleanup_command: Signal terminate once the output was read (or on an error).
            signal = root.find(".//rsp:Signal", NS)
            command_id = signal.get("CommandId", "") if signal is not None else ""
            shell.commands.pop(command_id, None)
            return ACTION_SIGNAL + "Response", "<rsp:SignalResponse/>"
        raise WinRMError(500, "Sender", "ActionNotSupported", f"action not supported: {action}", 2150858776)

    def _receive(self, host: str, command_id: str, command: Command) -> str:
        if command.output is None:
            if not command.stdin_done and command.stdin:
                # The process still waits for its stdin: Windows answers a Receive with an
                # operation timeout after OperationTimeout; pywinrm retries.
                raise WinRMError(
                    500,
                    "Receiver",
                    "TimedOut",
                    "The WS-Management service cannot complete the "
                    "operation within the time specified in OperationTimeout.",
                    CODE_OPERATION_TIMEOUT,
                )
            spec = self.hosts[host]
            rc, stdout, stderr = self.execute(
                command.command_line, bytes(command.stdin) or None, spec["state"], spec["log"], host
            )
            chunks = [("stdout", stdout[i : i + RECEIVE_CHUNK]) for i in range(0, len(stdout), RECEIVE_CHUNK)]
            chunks.append(("stderr", stderr))
            command.output, command.rc = chunks, rc
        parts = []
        size = 0
        while command.output and size < RECEIVE_CHUNK:
            name, data = command.output.pop(0)
            size += len(data)
            if data:
                encoded = base64.b64encode(data).decode("ascii")
                parts.append(f'<rsp:Stream Name="{name}" CommandId="{command_id}">{encoded}</rsp:Stream>')
        if command.output:
            parts.append(f'<rsp:CommandState CommandId="{command_id}" State="{STATE_RUNNING}"/>')
        else:
            # the example pywinrm documents in get_command_output_raw: End marks and Done with ExitCode
            parts.append(f'<rsp:Stream Name="stdout" CommandId="{command_id}" End="true"></rsp:Stream>')
            parts.append(f'<rsp:Stream Name="stderr" CommandId="{command_id}" End="true"></rsp:Stream>')
            parts.append(
                f'<rsp:CommandState CommandId="{command_id}" State="{STATE_DONE}">'
                f"<rsp:ExitCode>{command.rc}</rsp:ExitCode></rsp:CommandState>"
            )
        return '<rsp:ReceiveResponse SequenceID="0">' + "".join(parts) + "</rsp:ReceiveResponse>"


# Message encryption over HTTP with NTLM ([MS-WSMV] 2.2.9.1.1), in the framing pywinrm writes and
# reads (winrm/encryption.py: _encrypt_message, _build_ntlm_message, _decrypt_response,
# _decrypt_ntlm_message): a MIME-like multipart body, the payload being
# <signature length, 4 bytes little endian><signature><sealed message>.
BOUNDARY = b"--Encrypted Boundary"
PROTOCOL = b"application/HTTP-SPNEGO-session-encrypted"
ENCRYPTED_CONTENT_TYPE = f'multipart/encrypted;protocol="{PROTOCOL.decode()}";boundary="Encrypted Boundary"'


def unwrap_message(context, body: bytes) -> bytes:
    parts = [part for part in body.split(BOUNDARY + b"\r\n") if part]
    header, payload = parts[0], parts[1]
    if payload.endswith(BOUNDARY + b"--\r\n"):
        payload = payload[: -len(BOUNDARY + b"--\r\n")]
    payload = payload.replace(b"\tContent-Type: application/octet-stream\r\n", b"", 1)
    length = struct.unpack("<i", payload[:4])[0]
    message = context.unwrap(payload[4 : 4 + length] + payload[4 + length :]).data
    if len(message) != int(header.split(b"Length=")[1].strip()):
        raise WinRMError(400, "Sender", "InvalidMessage", "encrypted length does not match", 2150858817)
    return message


def wrap_message(context, message: bytes) -> bytes:
    sealed = context.wrap(message, encrypt=True).data  # NTLM: a 16-byte signature, then the sealed message
    return (
        BOUNDARY + b"\r\n\tContent-Type: " + PROTOCOL + b"\r\n"
        b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length="
        + str(len(message)).encode()
        + b"\r\n"
        + BOUNDARY
        + b"\r\n\tContent-Type: application/octet-stream\r\n"
        + struct.pack("<i", 16)
        + sealed
        + BOUNDARY
        + b"--\r\n"
    )


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as pywinrm's requests session expects
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002 (BaseHTTPRequestHandler's signature)
        pass  # never log requests: the Authorization header and stdin may hold secrets

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None, content_type: str = "") -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            for item in value if isinstance(value, list) else [value]:
                self.send_header(key, item)
        if body:
            self.send_header("Content-Type", content_type or "application/soap+xml;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authenticate(self, server) -> bool:
        """Basic (HTTPS only) per request, or NTLM per connection (HTTP.sys authenticates the connection)."""
        header = self.headers.get("Authorization", "")
        kind, dummy, token = header.partition(" ")
        if kind.lower() in ("negotiate", "ntlm") and token:
            import spnego  # pyspnego: its NTLM acceptor reads the account from NTLM_USER_FILE

            raw = base64.b64decode(token)
            if self.ntlm is None or raw[8:12] == b"\x01\x00\x00\x00":  # NEGOTIATE_MESSAGE: a new handshake
                self.ntlm = spnego.server(service="http", protocol="ntlm", channel_bindings=server.channel_bindings)
            try:
                out = self.ntlm.step(raw)
            except spnego.exceptions.SpnegoError:
                self.ntlm = None
                return False
            if not self.ntlm.complete:
                # the CHALLENGE_MESSAGE, on the same connection (requests_ntlm retry_using_http_NTLM_auth)
                self._send(401, headers={"WWW-Authenticate": f"{kind} {base64.b64encode(out).decode()}"})
                return None
            return True
        if kind.lower() == "basic" and server.scheme == "https":
            return server.authorized(header)
        return bool(self.ntlm is not None and self.ntlm.complete)

    def do_POST(self):  # noqa: N802 (http.server's naming)
        server: WinRMServer = self.server  # type: ignore[assignment]
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else b""
        if server.latency:
            time.sleep(server.latency)
        server.count_request()
        if not hasattr(self, "ntlm"):
            self.ntlm = None
        authenticated = self._authenticate(server)
        if authenticated is None:
            return  # a 401 with the NTLM challenge went out
        if not authenticated:
            # What an unauthenticated request to a Windows host's listener gets: the schemes it offers.
            offers = ["Negotiate"] + (['Basic realm="WSMAN"'] if server.scheme == "https" else [])
            self._send(401, headers={"WWW-Authenticate": offers})
            return
        if not data:
            self._send(200)  # pywinrm's setup_encryption: an empty message that only authenticates
            return
        encrypted = self.headers.get("Content-Type", "").startswith("multipart/encrypted")
        if encrypted:
            if self.ntlm is None or not self.ntlm.complete:
                self._send(400)
                return
            data = unwrap_message(self.ntlm, data)
        elif server.scheme == "http":
            # AllowUnencrypted is false on Windows by default: plain SOAP is refused over HTTP.
            self._send(401, headers={"WWW-Authenticate": ["Negotiate"]})
            return
        prefix = "/wsman/"
        host = self.path[len(prefix) :] if self.path.startswith(prefix) else ""
        if host not in server.backend.hosts:
            self._send(404)
            return
        relates_to = ""
        try:
            root = ET.fromstring(data)
            relates_to = (root.findtext(".//a:MessageID", "", NS) or "").strip()
            action, body = server.backend.handle(host, root)
            status, reply = 200, _envelope(action, relates_to, body)
        except WinRMError as err:
            status, reply = err.status, _fault(relates_to, err)
        except ET.ParseError as err:
            status, reply = (
                400,
                _fault(relates_to, WinRMError(400, "Sender", "SchemaValidationError", str(err), 2150858817)),
            )
        if encrypted:
            self._send(status, wrap_message(self.ntlm, reply), content_type=ENCRYPTED_CONTENT_TYPE)
        else:
            self._send(status, reply)


class WinRMServer(http.server.ThreadingHTTPServer):
    """One ``/wsman/<host>`` endpoint per simulated host on 127.0.0.1.

    ``scheme`` https: TLS, basic or NTLM auth (the NTLM channel binding is checked); http: NTLM only,
    with message encryption required (Windows' defaults: AllowUnencrypted false, Basic off over HTTP).
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        hosts: dict,
        certfile: str,
        keyfile: str,
        username: str,
        password: str,
        latency: float = 0.0,
        port: int = 0,
        execute=None,
        scheme: str = "https",
    ):
        super().__init__(("127.0.0.1", port), Handler)
        self.backend = Backend(hosts, execute)
        self.latency = float(latency)
        self.scheme = scheme
        self._auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._context = None
        self.channel_bindings = None
        if scheme == "https":
            self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._context.minimum_version = ssl.TLSVersion.TLSv1_2
            self._context.load_cert_chain(certfile, keyfile)
            self.channel_bindings = _tls_server_end_point(certfile)
        self.requests = 0
        self._count_lock = threading.Lock()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def authorized(self, header: str) -> bool:
        return secrets.compare_digest(header.encode(), self._auth.encode())

    def count_request(self) -> None:
        with self._count_lock:
            self.requests += 1

    def finish_request(self, request, client_address):
        if self._context is None:
            super().finish_request(request, client_address)
            return
        # TLS handshake in the request's thread, not in the accept loop
        try:
            tls = self._context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        super().finish_request(tls, client_address)

    def start(self) -> WinRMServer:
        threading.Thread(target=self.serve_forever, name="winrm-sim", daemon=True).start()
        return self


def _tls_server_end_point(certfile: str):
    """The channel binding of NTLM over HTTPS: RFC 5929 tls-server-end-point (requests_ntlm _get_certificate_hash)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.serialization import Encoding
    from spnego.channel_bindings import GssChannelBindings

    with open(certfile, "rb") as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    algorithm = cert.signature_hash_algorithm
    if algorithm is None or algorithm.name in ("md5", "sha1"):
        algorithm = hashes.SHA256()
    digest = hashes.Hash(algorithm)
    digest.update(cert.public_bytes(Encoding.DER))
    return GssChannelBindings(application_data=b"tls-server-end-point:" + digest.finalize())


def make_ca(workdir: str) -> dict:
    """A throw-away CA and a server certificate for 127.0.0.1/localhost signed by it; returns paths."""
    return tlsca.make_ca(workdir, "vmbackup.azure winrm_sim test CA", ["localhost"], days=2)


def install_collection_finder() -> None:
    """Make ``ansible_collections.vmbackup.azure`` importable from the checkout (as tests/conftest.py does)."""
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    if any(type(finder).__name__ == "_AnsibleCollectionFinder" for finder in sys.meta_path):
        return  # already installed (pytest's conftest.py)
    _AnsibleCollectionFinder(paths=[os.path.join(ROOT, ".collections")], scan_sys_paths=True)._install()


def start(
    workdir: str, hosts: dict, latency: float = 0.0, port: int = 0, scheme: str = "https", transport: str = ""
) -> tuple[WinRMServer, dict]:
    """Start a server in this process (a daemon thread). Returns (server, connection variables).

    ``scheme`` https (default; ``transport`` basic or ntlm) or http (NTLM with message encryption).
    The variables are what an inventory needs for ``ansible_connection: winrm`` to reach it
    (add ``ansible_winrm_path: /wsman/<host>`` per host); they hold the generated password, so
    write them only to files of mode 0600.
    """
    install_collection_finder()
    paths = make_ca(workdir)
    username, password = "vmbackup-sim", secrets.token_urlsafe(18)
    # pyspnego's NTLM acceptor takes its accounts from the file NTLM_USER_FILE names (DOMAIN:USER:PASSWORD)
    users = os.path.join(workdir, "ntlm-users")
    fd = os.open(users, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f":{username}:{password}\n")
    os.environ["NTLM_USER_FILE"] = users
    server = WinRMServer(
        hosts, paths["server.pem"], paths["server.key"], username, password, latency, port, scheme=scheme
    ).start()
    conn = {
        "ansible_connection": "winrm",
        "ansible_host": "127.0.0.1",
        "ansible_port": server.port,
        "ansible_user": username,
        "ansible_password": password,
        "ansible_winrm_scheme": scheme,
        "ansible_winrm_transport": transport or ("basic" if scheme == "https" else "ntlm"),
    }
    if scheme == "https":
        conn["ansible_winrm_server_cert_validation"] = "validate"
        conn["ansible_winrm_ca_trust_path"] = paths["ca.pem"]
    return server, conn


def inventory_hosts(hosts: dict, conn: dict, extra: dict | None = None) -> dict:
    """Inventory host entries reaching each simulated host through the server."""
    return {
        name: {
            "ansible_winrm_path": f"/wsman/{name}",
            "vmbackup_winsim_state": spec["state"],
            **((extra or {}).get(name) or {}),
        }
        for name, spec in hosts.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", required=True, help="JSON file: {host: {state, log}}")
    parser.add_argument("--workdir", required=True, help="where the CA, the certificate and account.json go")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--scheme", choices=("https", "http"), default="https")
    parser.add_argument(
        "--transport", choices=("basic", "ntlm"), default="", help="default: basic (https), ntlm (http)"
    )
    args = parser.parse_args()
    with open(args.hosts, encoding="utf-8") as handle:
        hosts = json.load(handle)
    server, conn = start(args.workdir, hosts, args.latency, args.port, args.scheme, args.transport)
    account = os.path.join(args.workdir, "account.json")
    fd = os.open(account, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(conn, handle)
    url = f"{args.scheme}://127.0.0.1:{server.port}/wsman/<host>"
    print(f"winrm_sim: {url} ({len(hosts)} hosts); connection variables in {account}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    server.shutdown()
    return 0


if __name__ == "__main__":
    socket.setdefaulttimeout(None)
    sys.exit(main())
