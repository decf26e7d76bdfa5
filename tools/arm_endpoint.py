#!/usr/bin/env python3
"""A local Azure Resource Manager endpoint for tests and the demo (HTTPS on 127.0.0.1, test CA made at start).

Not shipped in the collection and not Azure: it serves the few REST paths the collection calls, in
the shapes of the REST specs / SDK models, so the real clients (azure-core's transport, the
azure.azcollection modules where their SDK is installed) run against it unmodified:

- ``GET /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.RecoveryServices/vaults/{vault}/backupJobs``
  (Jobs_List, recoveryservicesbackup stable 2024-04-01): requires ``api-version``, reads one ``$filter``
  (``status eq 'Failed'`` and friends, as the service's OData filter), pages ``page_size`` jobs with an
  absolute ``nextLink`` that carries ``api-version``, the ``$filter`` and a ``$skipToken``. Any other
  query parameter (for example azure_rm_resource_info's ``skiptoken``) is ignored, and a request with
  two ``$filter`` is refused with 400 -- both are recorded in ``requests`` for tests to assert on.
- a managed-identity token endpoint in the App Service form azure-identity uses when
  ``IDENTITY_ENDPOINT`` and ``IDENTITY_HEADER`` are set (``GET /msi/token?resource=...&api-version=2019-08-01``
  with header ``X-IDENTITY-HEADER``), answering ``{access_token, expires_on, resource, token_type}``.
- every ARM call needs ``Authorization: Bearer <a token this endpoint issued>``: 401 ``AuthenticationFailed``
  otherwise; unknown vaults 404 ``ResourceNotFound``; ``state["throttle"]`` requests answer 429 with
  ``Retry-After`` and ``state["fail"]`` requests answer 503/500 before the real answer.

State is per instance (one per test): ``ArmEndpoint(state).start()`` ... ``.stop()``.
Run as a script for the demo: ``arm_endpoint.py --state state.json --port-file port`` serves until killed.
"""

from __future__ import annotations

import argparse
import datetime
import http.server
import json
import re
import secrets
import ssl
import sys
import tempfile
import threading
from urllib.parse import parse_qs, quote, unquote, urlsplit

from tlsca import make_ca  # tools/tlsca.py (tools/ is sys.path[0] when run, and on sys.path in the tests)

JOBS_PATH = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.RecoveryServices"
    r"/vaults/(?P<vault>[^/]+)/backupJobs$",
    re.IGNORECASE,
)
ARM_HOST = "management.azure.com"
COMPUTE = r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Compute/virtualMachines"
VM_PATH = re.compile(
    COMPUTE + r"/(?P<vm>[^/]+)(?P<rest>/instanceView|/extensions(?:/(?P<ext>[^/]+))?)?$", re.IGNORECASE
)
VM_LIST_PATH = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.Compute/virtualMachines$", re.IGNORECASE
)
SUB_LIST_PATH = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/providers/(?P<kind>Microsoft\.Authorization/locks|Microsoft\.Compute/restorePointCollections)$",
    re.IGNORECASE,
)
RG_PATH = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)$", re.IGNORECASE)
_CLAUSE = re.compile(r"^\s*(\w+)\s+eq\s+'([^']*)'\s*$")

# --- locks and restore points: routes (handlers in _Handler, block "locks and restore points") ---

ARM_BASE = f"https://{ARM_HOST}"
_SUB_RG = r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
BACKUP_RG_ROUTES = {
    "collections": re.compile(
        _SUB_RG + r"/providers/Microsoft\.Compute/restorePointCollections(?:/(?P<coll>[^/]+)"
        r"(?:/restorePoints/(?P<point>[^/]+))?)?$",
        re.IGNORECASE,
    ),
    "locks": re.compile(
        _SUB_RG + r"(?:/providers/[^/]+/[^/]+/[^/]+)*?/providers/Microsoft\.Authorization/locks(?:/(?P<name>[^/]+))?$",
        re.IGNORECASE,
    ),
}


def backup_rg_route(path):
    """(kind, match) of a locks / restore points path, else None."""
    path = "/" + unquote(path).lstrip("/")  # "/%2Fsubscriptions%2F..." (see the handlers' block)
    for kind, pattern in BACKUP_RG_ROUTES.items():
        match = pattern.match(path)
        if match:
            return kind, match
    return None


def _rg_id(resource_id):
    """``/subscriptions/<s>/resourcegroups/<rg>`` (casefolded) of an id; ``/subscriptions/<s>`` above a group."""
    parts = str(resource_id).casefold().split("/")
    if len(parts) > 4 and parts[3] == "resourcegroups":
        return "/".join(parts[:5])
    return "/".join(parts[:3])


def make_ca_and_cert(directory):
    """A test CA and a server certificate for 127.0.0.1, localhost and the ARM host; returns (ca, cert, key) paths."""
    paths = make_ca(directory, "vmbackup.azure test CA (local ARM endpoint)", ["localhost", ARM_HOST], days=1)
    return paths["ca.pem"], paths["server.pem"], paths["server.key"]


def _matches(job, job_filter):
    """The service's OData filter on a job, for the ``and``-joined ``eq`` clauses the collection sends."""
    if not job_filter:
        return True
    props = job.get("properties") or {}
    for clause in re.split(r"\s+and\s+", job_filter, flags=re.IGNORECASE):
        match = _CLAUSE.match(clause)
        if not match:
            raise ValueError(f"unsupported $filter clause {clause!r}")
        field, value = match.groups()
        if str(props.get(field, "")).casefold() != value.casefold():
            return False
    return True


def vm_json(vm_id, name, vm):
    """VirtualMachine (compute spec 2024-07-01): the fields the service always returns for a managed-disk VM."""
    windows = vm.get("os", "Windows") == "Windows"
    config = {"provisionVMAgent": vm.get("provision_vm_agent", True)}
    sub_rg = vm_id.split("/providers/")[0]
    return {
        "id": vm_id,
        "name": name,
        "type": "Microsoft.Compute/virtualMachines",
        "location": vm.get("location", "westeurope"),
        "properties": {
            "vmId": vm.get("vm_id", "0f5d1c39-0000-4000-8000-000000000001"),
            "hardwareProfile": {"vmSize": "Standard_D2s_v5"},
            "storageProfile": {
                "imageReference": {
                    "publisher": "MicrosoftWindowsServer" if windows else "Canonical",
                    "offer": "WindowsServer" if windows else "ubuntu-24_04-lts",
                    "sku": "2022-datacenter" if windows else "server",
                    "version": "latest",
                },
                "osDisk": {
                    "osType": vm.get("os", "Windows"),
                    "name": f"{name}-os",
                    "createOption": "FromImage",
                    "caching": "ReadWrite",
                    "managedDisk": {
                        "storageAccountType": "Premium_LRS",
                        "id": f"{sub_rg}/providers/Microsoft.Compute/disks/{name}-os",
                    },
                    "diskSizeGB": 127 if windows else 30,
                },
                "dataDisks": [],
            },
            "osProfile": {
                "computerName": name,
                "adminUsername": "azureuser",
                ("windowsConfiguration" if windows else "linuxConfiguration"): config,
            },
            "networkProfile": {
                "networkInterfaces": [{"id": f"{sub_rg}/providers/Microsoft.Network/networkInterfaces/{name}-nic"}]
            },
            "diagnosticsProfile": {"bootDiagnostics": {"enabled": False}},
            "provisioningState": vm.get("provisioning_state", "Succeeded"),
        },
    }


_DISPLAY = {
    "running": "VM running",
    "stopped": "VM stopped",
    "deallocated": "VM deallocated",
    "starting": "VM starting",
    "stopping": "VM stopping",
    "deallocating": "VM deallocating",
}


def vm_instance_view(vm):
    """VirtualMachineInstanceView: statuses ProvisioningState/<s> and PowerState/<p> (with displayStatus), vmAgent."""
    provisioning = vm.get("provisioning_state", "Succeeded")
    power = vm.get("power_state", "running")
    statuses = [
        {
            "code": f"ProvisioningState/{provisioning.lower()}",
            "level": "Info",
            "displayStatus": f"Provisioning {provisioning.lower()}",
        },
        {"code": f"PowerState/{power}", "level": "Info", "displayStatus": _DISPLAY.get(power, f"VM {power}")},
    ]
    view = {"computerName": vm.get("computer_name", ""), "statuses": statuses, "extensions": []}
    for ext_name, ext in vm.get("extensions", {}).items():
        state = ext.get("provisioning_state", "Succeeded")
        view["extensions"].append(
            {
                "name": ext_name,
                "type": f"{ext.get('publisher', 'Microsoft.Azure.RecoveryServices')}.{ext.get('type', ext_name)}",
                "typeHandlerVersion": ext.get("type_handler_version", "1.0"),
                "statuses": [
                    {
                        "code": f"ProvisioningState/{state.lower()}",
                        "level": "Info",
                        "displayStatus": f"Provisioning {state.lower()}",
                    }
                ],
            }
        )
    agent = vm.get("agent_status")
    if agent:
        view["vmAgent"] = {
            "vmAgentVersion": vm.get("agent_version", "2.7.41491.1102"),
            "statuses": [{"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": agent}],
        }
    return view


def extension_json(vm_id, vm, name):
    """VirtualMachineExtension (compute spec)."""
    ext = vm["extensions"][name]
    return {
        "id": f"{vm_id}/extensions/{name}",
        "name": name,
        "type": "Microsoft.Compute/virtualMachines/extensions",
        "location": vm.get("location", "westeurope"),
        "properties": {
            "publisher": ext.get("publisher", "Microsoft.Azure.RecoveryServices"),
            "type": ext.get("type", name),
            "typeHandlerVersion": ext.get("type_handler_version", "1.0"),
            "autoUpgradeMinorVersion": True,
            "provisioningState": ext.get("provisioning_state", "Succeeded"),
        },
    }


# --- VM actions and power transitions (VirtualMachines_Restart as a long-running operation, power states that
# change from one read to the next, faults per HTTP method). Shapes: compute stable 2024-07-01, the SDK's
# azure/mgmt/compute/v2024_07_01/operations/_operations.py (VirtualMachinesOperations._restart_initial accepts
# 200 and 202, line 16846; begin_restart polls with ARMPolling, line 16899), azure-core's ARMPolling for the polling.
# State keys: vms[...]["power_states"] (a list: each read of the VM serves the next, the last one stays),
# faults {"POST": [429, 503], "GET": [...]} (statuses answered, in order, before the real answer; 429 with
# Retry-After), restart_polls (reads of the VM, and of the operation status, that answer Updating / starting or
# "InProgress" before running / "Succeeded", default 1), restart_clears_failed (default true: the restarted VM's
# provisioning state becomes Succeeded). The endpoint records restarts in state["restarted"].
VM_ACTION_PATH = re.compile(COMPUTE + r"/(?P<vm>[^/]+)/(?P<action>restart)$", re.IGNORECASE)
OPERATION_PATH = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.Compute/locations/(?P<loc>[^/]+)/operations/(?P<op>[^/]+)$",
    re.IGNORECASE,
)


def advance_power(vm):
    """Serve the next of ``power_states`` (the VM's state moves on by itself between reads); an entry is a power
    state or a dict of ``power_state`` / ``provisioning_state``."""
    states = vm.get("power_states")
    if states:
        step = states.pop(0) if len(states) > 1 else states[0]
        vm.update(step if isinstance(step, dict) else {"power_state": step})


class _VmActions:
    """Mixed into the handler: POST, the per-method faults, the restart and its operation status."""

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.do_GET(method="POST")

    def _vm_fault(self, method):
        """Answer the next injected fault for this method (True when one was answered)."""
        endpoint = self.server.endpoint
        with endpoint.lock:
            queue = (endpoint.state.get("faults") or {}).get(method) or []
            status = queue.pop(0) if queue else None
        if status is None:
            return False
        if status == 429:
            retry = {"Retry-After": str(endpoint.state.get("retry_after", 1))}
            self._error(429, "TooManyRequests", "The request is being throttled.", retry)
        else:
            self._error(status, "ServiceUnavailable", "The service is temporarily unavailable.")
        return True

    def _vm_action(self, path, query, method):
        """The restart POST and its operation status (True when the request was answered here)."""
        endpoint = self.server.endpoint
        action, operation = VM_ACTION_PATH.match(path), OPERATION_PATH.match(path)
        if method == "POST" and action:
            key = f"{action['rg']}/{action['vm']}".casefold()
            with endpoint.lock:
                vm = endpoint.state.get("vms", {}).get(key)
                if vm is None:
                    self._error(404, "ResourceNotFound", f"The Resource 'Microsoft.Compute/virtualMachines/"
                                f"{action['vm']}' under resource group '{action['rg']}' was not found.")  # fmt: skip
                    return True
                if vm.get("power_state", "running") != "running":
                    self._error(409, "OperationNotAllowed", f"Operation 'restart' is not allowed on VM"
                                f" '{action['vm']}' since the VM is {vm.get('power_state')}.")  # fmt: skip
                    return True
                op = secrets.token_hex(8)
                polls = int(endpoint.state.get("restart_polls", 1))
                endpoint.state.setdefault("operations", {})[op] = {"vm": key, "polls": polls}
                endpoint.state.setdefault("restarted", []).append(key)
                # while it restarts: Updating / starting for restart_polls reads, then running (and Succeeded)
                after = vm.get("provisioning_state", "Succeeded")
                if endpoint.state.get("restart_clears_failed", True):
                    after = "Succeeded"
                vm["power_states"] = [{"power_state": "starting", "provisioning_state": "Updating"}] * polls + [
                    {"power_state": "running", "provisioning_state": after}
                ]
            location = vm.get("location", "westeurope")
            base = f"{endpoint.url}/subscriptions/{action['sub']}/providers/Microsoft.Compute/locations/{location}"
            version = quote((query.get("api-version") or [""])[0])
            self._send(202, None, {
                "Azure-AsyncOperation": f"{base}/operations/{op}?api-version={version}",
                "Location": f"{base}/operations/{op}?monitor=true&api-version={version}",
                "Retry-After": "1",
            })  # fmt: skip
            return True
        if method == "GET" and operation:
            with endpoint.lock:
                record = endpoint.state.get("operations", {}).get(operation["op"])
                if record is None:
                    self._error(404, "NotFound", f"Operation {operation['op']} was not found.")
                    return True
                done = record["polls"] <= 0
                record["polls"] -= 1
                if done and record["vm"]:  # a restart (a restore point delete names no VM)
                    vm = endpoint.state["vms"][record["vm"]]
                    vm.pop("power_states", None)
                    vm["power_state"] = "running"
                    if endpoint.state.get("restart_clears_failed", True):
                        vm["provisioning_state"] = "Succeeded"
            if (query.get("monitor") or [""])[0] == "true":  # the Location URL: 202 until done, then 200
                self._send(200 if done else 202, None, None if done else {"Retry-After": "1"})
                return True
            body = {"name": operation["op"], "status": "Succeeded" if done else "InProgress",
                    "startTime": "2026-03-02T10:00:00.0000000+00:00"}  # fmt: skip
            self._send(200, body, None if done else {"Retry-After": "1"})
            return True
        return False


# --- end of VM actions and power transitions


class _Handler(_VmActions, http.server.BaseHTTPRequestHandler):
    server_version = "local-arm/1"

    def log_message(self, *args):  # quiet: tests read `requests`
        return

    def _send(self, status, body, headers=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-ms-request-id", secrets.token_hex(8))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status, code, message, headers=None):
        self._send(status, {"error": {"code": code, "message": message}}, headers)

    def do_CONNECT(self):  # noqa: N802
        """The proxy side: a tunnel to management.azure.com ends HERE, in TLS with the test CA; nothing is forwarded."""
        endpoint = self.server.endpoint
        host = self.path.rsplit(":", 1)[0].strip("[]").lower()
        with endpoint.lock:
            endpoint.requests.append({"method": "CONNECT", "path": self.path, "query": {}, "auth": False})
        if host != ARM_HOST:
            self.send_error(403, f"this test proxy serves only {ARM_HOST}")
            self.close_connection = True
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        self.connection = endpoint.tls.wrap_socket(self.connection, server_side=True)
        self.rfile = self.connection.makefile("rb", self.rbufsize)
        self.wfile = self.connection.makefile("wb", 0)
        self.close_connection = False

    def do_DELETE(self):  # noqa: N802
        self.do_GET(method="DELETE")

    def do_GET(self, method="GET"):  # noqa: N802 (http.server's name)
        endpoint = self.server.endpoint
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        record = {"method": method, "path": parts.path, "query": query, "auth": bool(self.headers.get("Authorization"))}
        with endpoint.lock:
            endpoint.requests.append(record)
        if parts.path == "/msi/token":
            return self._token(query)
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        if token not in endpoint.tokens:
            return self._error(
                401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing or invalid."
            )
        if self._vm_fault(method):  # VM actions block: faults per method
            return
        with endpoint.lock:
            state = endpoint.state
            if state.get("throttle", 0) > 0:
                state["throttle"] -= 1
                return self._error(
                    429,
                    "TooManyRequests",
                    "The request is being throttled.",
                    {"Retry-After": str(state.get("retry_after", 1))},
                )
            if state.get("fail", 0) > 0:
                state["fail"] -= 1
                return self._error(503, "ServiceUnavailable", "The service is temporarily unavailable.")
        if method == "GET" and JOBS_PATH.match(parts.path):
            return self._jobs(JOBS_PATH.match(parts.path), query)
        if method == "GET" and VM_LIST_PATH.match(parts.path):
            return self._vm_list(VM_LIST_PATH.match(parts.path), query)
        if method == "GET" and SUB_LIST_PATH.match(parts.path):
            match = SUB_LIST_PATH.match(parts.path)
            key = "locks" if match["kind"].lower().endswith("locks") else "restore_point_collections"
            return self._send(200, {"value": list(endpoint.state.get(key, []))})
        if method == "GET" and RG_PATH.match(parts.path):
            return self._resource_group(RG_PATH.match(parts.path))
        if self._vm_action(parts.path, query, method):  # VM actions block: restart, operation status
            return
        if VM_PATH.match(parts.path):
            return self._vm(VM_PATH.match(parts.path), query, method)
        if backup_rg_route(parts.path):  # locks and restore points (block "locks and restore points")
            return self._backup_rg(backup_rg_route(parts.path), query, method)
        return self._error(404, "InvalidResourceType", f"No route for {method} {parts.path}")

    # --- locks and restore points ------------------------------------------------------------------------------
    # ManagementLocks_ListAtResourceGroupLevel, GET / DELETE a lock by scope (Microsoft.Authorization 2016-09-01 and
    # 2020-05-01: azure-mgmt-resource locks v2016_09_01 operations/_operations.py, list_at_resource_group_level pages
    # with next_link), RestorePointCollections_List (paged) / _Get ($expand=restorePoints), RestorePoints_Delete
    # (long-running: 200/202/204, azure-mgmt-compute v2024_07_01 operations/_operations.py) answered 202 with
    # Azure-AsyncOperation, and that operation's status. State: "locks" (ManagementLockObject, as the subscription
    # list serves them), "restore_point_collections" (RestorePointCollection; "properties.restorePoints" held here
    # and served only with $expand). Faults for these routes only: "backup_rg_throttle" (429 + Retry-After) and
    # "backup_rg_fail" (503) counters, as "throttle" / "fail", optionally only for requests whose "<METHOD> <path>"
    # contains "backup_rg_fault_on".
    # Paths are matched percent-decoded: azure_rm_lock's SDK (azure-mgmt-resource locks v2016_09_01
    # operations/_operations.py build_management_locks_get_by_scope_request) quotes the whole scope into
    # "/%2Fsubscriptions%2F...", which ARM is taken to decode (an assumption: the module relies on it for every scope).
    # The group's lock list also carries the locks set on the subscription (what "inherited" looks like; the
    # role must never remove those) -- an assumption of this endpoint, not a recorded answer.
    def _backup_rg_fault(self, method, path):
        endpoint = self.server.endpoint
        with endpoint.lock:
            state = endpoint.state
            if state.get("backup_rg_fault_on", "").casefold() not in f"{method} {path}".casefold():
                return False
            if state.get("backup_rg_throttle", 0) > 0:
                state["backup_rg_throttle"] -= 1
                retry = {"Retry-After": str(state.get("retry_after", 1))}
                self._error(429, "TooManyRequests", "The request is being throttled.", retry)
                return True
            if state.get("backup_rg_fail", 0) > 0:
                state["backup_rg_fail"] -= 1
                self._error(503, "ServiceUnavailable", "The service is temporarily unavailable.")
                return True
        return False

    def _backup_rg_page(self, items, query, link_base):
        endpoint = self.server.endpoint
        size = int(endpoint.state.get("page_size", 2))
        start = int((query.get("$skiptoken") or ["0"])[0] or 0)
        page = {"value": items[start : start + size]}
        if start + size < len(items):
            page["nextLink"] = (
                f"{endpoint.url}{link_base}?api-version={quote(query['api-version'][0])}&$skiptoken={start + size}"
            )
        return self._send(200, page)

    def _backup_rg(self, route, query, method):
        endpoint = self.server.endpoint
        kind, match = route
        if self._backup_rg_fault(method, match.group(0)):
            return None
        if not (query.get("api-version") or [""])[0]:
            return self._error(400, "MissingApiVersionParameter", "The api-version query parameter is required.")
        group = match["rg"]
        if group.casefold() not in endpoint.state.get("resource_groups", {}):
            return self._error(404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found.")
        rg_id = f"/subscriptions/{match['sub']}/resourceGroups/{group}".casefold()
        sub_id = f"/subscriptions/{match['sub']}".casefold()
        with endpoint.lock:
            if kind == "locks":
                return self._backup_rg_locks(match, query, method, rg_id, sub_id)
            collections = endpoint.state.get("restore_point_collections", [])
            if not match["coll"]:
                here = [self._collection(c, False) for c in collections if _rg_id(c["id"]) == rg_id]
                return self._backup_rg_page(here, query, match.group(0))
            coll_id = match.group(0).split("/restorePoints/")[0].casefold()
            coll = next((c for c in collections if c["id"].casefold() == coll_id), None)
            if match["point"] is None:
                if coll is None:
                    return self._error(
                        404, "ResourceNotFound", f"Restore point collection '{match['coll']}' not found."
                    )
                expand = (query.get("$expand") or [""])[0].casefold() == "restorepoints"
                return self._send(200, self._collection(coll, expand))
            if method != "DELETE":
                return self._error(405, "MethodNotAllowed", f"{method} on a restore point is not served here")
            points = (coll or {}).get("properties", {}).get("restorePoints", [])
            point = next((p for p in points if p["name"].casefold() == match["point"].casefold()), None)
            if point is None:
                return self._send(204, None)
            if self._backup_rg_locked(rg_id, sub_id):
                return self._error(409, "ScopeLocked", f"The scope '{point['id']}' cannot perform delete: locked.")
            points.remove(point)
            endpoint.deleted.append(point["id"])
            # its status is served by the VM actions block's operation route (one table of operations)
            op_id = secrets.token_hex(8)
            endpoint.state.setdefault("operations", {})[op_id] = {"vm": None, "polls": 0}
            op = f"/subscriptions/{match['sub']}/providers/Microsoft.Compute/locations/x/operations/{op_id}"
            return self._send(
                202, None, {"Azure-AsyncOperation": f"{ARM_BASE}{op}?api-version=2024-07-01", "Retry-After": "1"}
            )

    def _backup_rg_locked(self, rg_id, sub_id):
        return any(_rg_id(lk["id"]) in (rg_id, sub_id) for lk in self.server.endpoint.state.get("locks", []))

    def _backup_rg_locks(self, match, query, method, rg_id, sub_id):
        endpoint = self.server.endpoint
        locks = endpoint.state.setdefault("locks", [])
        if match["name"] is None:
            if method != "GET":
                return self._error(405, "MethodNotAllowed", f"{method} on a lock list is not served here")
            here = [lk for lk in locks if _rg_id(lk["id"]) in (rg_id, sub_id)]
            return self._backup_rg_page(here, query, match.group(0))
        lock_id = match.group(0).casefold()
        lock = next((lk for lk in locks if lk["id"].casefold() == lock_id), None)
        if method == "DELETE":
            if lock is None:
                return self._send(204, None)
            locks.remove(lock)
            endpoint.deleted.append(lock["id"])
            return self._send(200, None)
        if lock is None:
            return self._error(404, "LockNotFound", f"The lock '{match['name']}' could not be found.")
        return self._send(200, lock)

    @staticmethod
    def _collection(coll, expand):
        body = json.loads(json.dumps(coll))
        if not expand:
            body.get("properties", {}).pop("restorePoints", None)
        return body

    # --- end of locks and restore points ---------------------------------------------------------------------

    # ---- Microsoft.Resources / Microsoft.Compute (shapes: azure-rest-api-specs compute + resources) ----
    def _resource_group(self, match):
        endpoint = self.server.endpoint
        group = endpoint.state.get("resource_groups", {}).get(match["rg"].casefold())
        if group is None:
            return self._error(404, "ResourceGroupNotFound", f"Resource group '{match['rg']}' could not be found.")
        return self._send(200, {
            "id": f"/subscriptions/{match['sub']}/resourceGroups/{match['rg']}", "name": match["rg"],
            "type": "Microsoft.Resources/resourceGroups", "location": group.get("location", "westeurope"),
            "properties": {"provisioningState": "Succeeded"},
        })  # fmt: skip

    def _vm_list(self, match, query):
        """VirtualMachines_ListAll; with statusOnly=true each VM carries properties.instanceView. Paged."""
        endpoint = self.server.endpoint
        if match["sub"].casefold() != endpoint.state.get("subscription", "").casefold():
            return self._error(404, "SubscriptionNotFound", f"The subscription '{match['sub']}' could not be found.")
        status_only = (query.get("statusOnly") or [""])[0].lower() == "true"
        items = []
        for key, vm in sorted(endpoint.state.get("vms", {}).items()):
            rg, name = key.split("/", 1)
            vm_id = (
                f"/subscriptions/{match['sub']}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}"
            )
            body = vm_json(vm_id, vm.get("name", name), vm)
            if status_only:
                body["properties"] = {"instanceView": vm_instance_view(vm)}
            items.append(body)
        size = int(endpoint.state.get("page_size", 2))
        start = int((query.get("$skipToken") or ["0"])[0] or 0)
        page = {"value": items[start : start + size]}
        if start + size < len(items):
            page["nextLink"] = (
                f"{endpoint.url}{match.group(0)}?api-version={quote(query['api-version'][0])}"
                f"&statusOnly={'true' if status_only else 'false'}&$skipToken={start + size}"
            )
        return self._send(200, page)

    def _vm(self, match, query, method):
        endpoint = self.server.endpoint
        key = f"{match['rg']}/{match['vm']}".casefold()
        with endpoint.lock:
            vm = endpoint.state.get("vms", {}).get(key)
            if vm is None:
                return self._error(
                    404, "ResourceNotFound",
                    f"The Resource 'Microsoft.Compute/virtualMachines/{match['vm']}' under resource group"
                    f" '{match['rg']}' was not found.",
                )  # fmt: skip
            vm_id = match.group(0).split("/extensions")[0].split("/instanceView")[0]
            rest = (match["rest"] or "").lower()
            if method == "GET" and rest in ("", "/instanceview"):
                advance_power(vm)  # VM actions block: a transitional power state moves on between reads
            if rest == "/instanceview":
                return self._send(200, vm_instance_view(vm))
            if rest.startswith("/extensions"):
                if not match["ext"]:
                    return self._send(200, {"value": [extension_json(vm_id, vm, n) for n in vm.get("extensions", {})]})
                name = next((n for n in vm.get("extensions", {}) if n.casefold() == match["ext"].casefold()), None)
                if method == "DELETE":
                    if name is None:
                        return self._send(204, None)
                    endpoint.deleted.append(f"{key}/{name}")
                    del vm["extensions"][name]
                    return self._send(200, None)
                if name is None:
                    return self._error(
                        404, "NotFound", f"The entity was not found in this Azure location ({match['ext']})."
                    )
                return self._send(200, extension_json(vm_id, vm, name))
            if method != "GET":
                return self._error(405, "MethodNotAllowed", f"{method} on a VM is not served here")
            body = vm_json(vm_id, match["vm"], vm)
            if "instanceView" in (query.get("$expand") or [""])[0]:
                body["properties"]["instanceView"] = vm_instance_view(vm)
            return self._send(200, body)

    def _token(self, query):
        endpoint = self.server.endpoint
        if self.headers.get("X-IDENTITY-HEADER") != endpoint.identity_header:
            return self._send(401, {"error": "invalid_identity_header"})
        resource = (query.get("resource") or [""])[0]
        token = secrets.token_urlsafe(24)
        endpoint.tokens.add(token)
        expires = int(datetime.datetime.now(datetime.UTC).timestamp()) + 3600
        return self._send(
            200, {"access_token": token, "expires_on": str(expires), "resource": resource, "token_type": "Bearer"}
        )

    def _jobs(self, match, query):
        endpoint = self.server.endpoint
        if not (query.get("api-version") or [""])[0]:
            return self._error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        filters = query.get("$filter") or []
        if len(filters) > 1:
            return self._error(400, "BadRequest", "The query has more than one $filter.")
        vault = endpoint.state.get("vaults", {}).get(f"{match['rg']}/{match['vault']}".casefold())
        if vault is None or match["sub"].casefold() != endpoint.state.get("subscription", "").casefold():
            return self._error(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.RecoveryServices/vaults/{match['vault']}' under resource group"
                f" '{match['rg']}' was not found.",
            )
        try:
            jobs = [job for job in vault["jobs"] if _matches(job, filters[0] if filters else "")]
        except ValueError as exc:
            return self._error(400, "BadRequest", str(exc))
        size = int(endpoint.state.get("page_size", 2))
        start = int((query.get("$skipToken") or ["0"])[0] or 0)
        page = {"value": jobs[start : start + size]}
        if start + size < len(jobs):
            link = f"{endpoint.url}{match.group(0)}?api-version={quote((query['api-version'])[0])}"
            if filters:
                link += "&$filter=" + quote(filters[0], safe="")
            page["nextLink"] = link + f"&$skipToken={start + size}"
        return self._send(200, page)


class ArmEndpoint:
    """One local ARM endpoint: ``start()`` returns self; ``url``, ``ca_path``, ``env()`` for the clients."""

    def __init__(self, state=None, directory=None):
        self.state = dict(state or {})
        self.requests, self.tokens, self.deleted = [], set(), []
        self.lock = threading.Lock()
        self.identity_header = secrets.token_hex(16)
        self._tmp = None if directory else tempfile.TemporaryDirectory(prefix="arm-endpoint-")
        self.directory = directory or self._tmp.name
        self.ca_path, cert, key = make_ca_and_cert(self.directory)
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(cert, key)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.socket = self.tls.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.endpoint = self
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        # The same endpoint as https://management.azure.com for unmodified clients: an HTTP proxy whose
        # CONNECT tunnels to that host only, and end here (tools/arm_endpoint.py never connects out).
        self.proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.proxy.endpoint = self
        self.proxy_url = f"http://127.0.0.1:{self.proxy.server_address[1]}"
        self._threads = []

    def start(self):
        for server in (self.httpd, self.proxy):
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self):
        for server in (self.httpd, self.proxy):
            server.shutdown()
            server.server_close()
        if self._tmp:
            self._tmp.cleanup()

    def env(self):
        """Environment for unmodified Azure clients: azure-identity's managed identity (App Service form:
        IDENTITY_ENDPOINT + IDENTITY_HEADER), https://management.azure.com through the test proxy, the test CA."""
        return {
            "IDENTITY_ENDPOINT": f"{self.url}/msi/token",
            "IDENTITY_HEADER": self.identity_header,
            "HTTPS_PROXY": self.proxy_url,
            "https_proxy": self.proxy_url,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "REQUESTS_CA_BUNDLE": self.ca_path,
            "SSL_CERT_FILE": self.ca_path,
            "AZURE_SUBSCRIPTION_ID": self.state.get("subscription", ""),
        }

    def token(self):
        """A token as the token endpoint would issue it (for clients that do not fetch their own)."""
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return token


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--state", required=True, help="JSON file with the endpoint's state")
    parser.add_argument("--info", required=True, help="write {url, ca_path, env} here once serving")
    parser.add_argument("--dir", required=True, help="directory for the test CA and server key")
    args = parser.parse_args(argv)
    with open(args.state, encoding="utf-8") as handle:
        endpoint = ArmEndpoint(json.load(handle), directory=args.dir).start()
    with open(args.info, "w", encoding="utf-8") as handle:
        json.dump({"url": endpoint.url, "ca_path": endpoint.ca_path, "env": endpoint.env()}, handle)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        endpoint.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
