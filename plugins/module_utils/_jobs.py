# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Failed Azure Backup jobs -> error codes per inventory host (internal helper, pure Python).

Used by the ``vmbackup.azure.backup_job_findings`` filter and ``playbooks/triage.yml``.

Why it is defensive (docs/field-notes.md section 5): the REST spec types ``errorCode`` as an
integer and no public sample shows where the named code (``UserErrorFsFreezeFailed`` ...) appears
in a real failed job, so every documented field is searched -- ``errorDetails[].errorCode``,
``errorTitle``, ``errorString`` and ``extendedInfo.dynamicErrorMessage`` -- for a named code, an
alias, a numeric code (320001, 400094, 380008 ...) or a documented message, always on whole words.
A failure the catalog does not know is reported as such, never guessed. Keys are read in either
shape: camelCase (``az backup job list``, REST, ``azure_rm_resource_info``) or snake_case (the
SDK's ``as_dict()``). AzureIaaSVMJob (REST spec, SDK models 9.1.0 / 11.2.0) names the VM only in
``entityFriendlyName`` and ``containerName`` (``iaasvmcontainerv2;<rg>;<vm>``) -- it has no resource
id field; a VM name alone is ambiguous across resource groups, so the container name's resource group
narrows it (a resource id, where some other tool's export carries one, is used too). Integer error
codes the catalog does not list stay beside a recognised message (``error_numbers``); a saved page
with a ``nextLink`` is reported as incomplete; Azure Backup's ``recommendations`` and the failed step
of ``extendedInfo.tasksList`` go into the finding.

Nothing is dropped silently: every job ends up on a host, in ``unmapped``, or in ``skipped`` with
a reason; jobs without a code the catalog knows are also listed in ``unknown``.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit, urlunsplit

from ansible_collections.vmbackup.azure.plugins.module_utils._catalog import CATALOG, lookup
from ansible_collections.vmbackup.azure.plugins.module_utils._findings import make_finding

# Defaults of the live query (field-notes section 5; api-version of the stable spec whose ListJobs
# example uses exactly this filter syntax: azure-rest-api-specs recoveryservicesbackup 2024-04-01).
API_VERSION = "2024-04-01"
DEFAULT_FILTER = "status eq 'Failed' and backupManagementType eq 'AzureIaasVM' and operation eq 'Backup'"

SUCCESS_STATUSES = ("completed", "completedwithwarnings")
HOST_VARS = {
    "vm_name": "vmbackup_azure_vm_name",
    "resource_group": "vmbackup_azure_resource_group",
    "resource_id": "vmbackup_azure_resource_id",
}
_MAX_TEXT = 300

_WORD = re.compile(r"(?<![A-Za-z0-9_])([A-Za-z][A-Za-z0-9]*|[0-9]+)(?![A-Za-z0-9_])")
_SINGLE_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_]*|[0-9]+")
_VM_ID = re.compile(
    r"^/subscriptions/[^/]+/resourcegroups/(?P<rg>[^/]+)/providers/microsoft\.compute/virtualmachines/(?P<vm>[^/]+)/?$",
    re.IGNORECASE,
)
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\uff1a": ":"})


class JobsError(ValueError):
    """The input as a whole is not something jobs can be read from (the message says why)."""


# ---- reading keys in either shape ---------------------------------------------------------------
def _norm_key(key):
    return re.sub(r"[\s_\-]", "", str(key)).casefold()


def _get(data, *names):
    """``data[name]`` for the first name present, comparing keys without case, ``_``, ``-`` or spaces."""
    if not isinstance(data, Mapping):
        return None
    wanted = [_norm_key(n) for n in names]
    found = {}
    for key, value in data.items():
        nk = _norm_key(key)
        if nk in wanted and nk not in found:
            found[nk] = value
    for nk in wanted:
        if nk in found and found[nk] is not None:
            return found[nk]
    return None


def _text(value):
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, (int, float)):
        return str(value)
    return ""


# ---- codes ----------------------------------------------------------------------------------------
def _normalize_message(text):
    text = text.translate(_QUOTES).casefold()
    return re.sub(r"\s+", " ", text).strip()


def _message_patterns():
    """(compiled pattern, code): each documented message, and its head before ': ' when that is specific."""
    patterns = []
    for entry in CATALOG:
        for message in entry.messages:
            variants = {_normalize_message(message).rstrip(" .")}
            head = _normalize_message(message).split(": ", 1)[0].rstrip(" .")
            if len(head.split()) >= 4:
                variants.add(head)
            for variant in variants:
                pattern = re.compile(r"(?<![a-z0-9])" + re.escape(variant) + r"(?![a-z0-9])")
                patterns.append((pattern, entry.code))
    return tuple(patterns)


MESSAGE_PATTERNS = _message_patterns()
_NUMERIC = {str(n): entry.code for entry in CATALOG for n in entry.numeric_codes}
_NAMES = {name.casefold(): entry.code for entry in CATALOG for name in (entry.code,) + entry.aliases}


def code_for_token(token):
    """Canonical code for one whole word (a code, an alias or a numeric code), else None."""
    token = str(token).strip()
    if token.isdigit():
        return _NUMERIC.get(str(int(token))) if len(token) <= 12 else None
    return _NAMES.get(token.casefold())


def codes_in_text(text):
    """Every catalog code named in free text: whole-word codes/aliases/numbers, then documented messages."""
    found = []
    for token in _WORD.findall(text):
        code = code_for_token(token)
        if code and code not in found:
            found.append(code)
    normalized = _normalize_message(text)
    spans = []
    for pattern, code in MESSAGE_PATTERNS:
        for match in pattern.finditer(normalized):
            spans.append((match.start(), match.end(), code))
    # A documented message may begin with another one ("Backup failed to cancel the job" is the head of
    # JobCancelFailed and the start of JobCancelNotInProgress): a match inside a longer match of another
    # code is not evidence of its own.
    for start, end, code in sorted(spans, key=lambda span: (span[0], -span[1])):
        inside = any(s <= start and end <= e and (e - s) > (end - start) and c != code for s, e, c in spans)
        if not inside and code not in found:
            found.append(code)
    return found


def _error_values(props):
    """(field, value) pairs from every documented place an error can be, in a stable order."""
    details = _get(props, "errorDetails")
    if isinstance(details, Mapping):
        details = [details]
    if not isinstance(details, Sequence) or isinstance(details, (str, bytes)):
        details = []
    values = []
    for item in details:
        if not isinstance(item, Mapping):
            continue
        for field in ("errorCode", "errorTitle", "errorString"):
            value = _get(item, field)
            if value is not None:
                values.append((field, value))
    extended = _get(props, "extendedInfo")
    dynamic = _get(extended, "dynamicErrorMessage")
    if dynamic is not None:
        values.append(("dynamicErrorMessage", dynamic))
    return values


def job_codes(props):
    """(codes, unrecognised raw codes, first message) of one job's properties."""
    codes, unknown, messages = [], [], {}
    for field, value in _error_values(props):
        raw = None
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            raw = str(value)
        elif isinstance(value, str):
            stripped = value.strip()
            if _SINGLE_TOKEN.fullmatch(stripped):
                raw = stripped
            elif stripped and field != "errorCode":
                messages.setdefault(field, stripped)
        else:
            continue
        if raw is not None:
            code = code_for_token(raw)
            if code:
                if code not in codes:
                    codes.append(code)
            elif field in ("errorCode", "errorTitle") and raw not in ("0",) and raw not in unknown:
                # A lone word in the code or title field that the catalog does not know: a code we
                # don't know (a new or undocumented one). Words in free text are not codes.
                unknown.append(raw)
            continue
        for code in codes_in_text(value):
            if code not in codes:
                codes.append(code)
    # The most specific text first: the error string, then the dynamic message, then the title.
    message = next((messages[f] for f in ("errorString", "dynamicErrorMessage", "errorTitle") if f in messages), "")
    return codes, unknown, message[:_MAX_TEXT]


def _details(props):
    details = _get(props, "errorDetails")
    if isinstance(details, Mapping):
        details = [details]
    if not isinstance(details, Sequence) or isinstance(details, (str, bytes)):
        return []
    return [item for item in details if isinstance(item, Mapping)]


def error_numbers(props):
    """The integer ``errorDetails[].errorCode`` values (AzureIaaSVMErrorInfo types it ``int``), 0 left out."""
    numbers = []
    for item in _details(props):
        value = _get(item, "errorCode")
        if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 12:
            value = int(value.strip())
        if isinstance(value, int) and not isinstance(value, bool) and value and value not in numbers:
            numbers.append(value)
    return numbers


def recommendations(props):
    """``errorDetails[].recommendations`` (a list of strings in AzureIaaSVMErrorInfo), in order, once each."""
    out = []
    for item in _details(props):
        values = _get(item, "recommendations")
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, Sequence):
            continue
        for value in values:
            text = _text(value)[:_MAX_TEXT]
            if text and text not in out:
                out.append(text)
    return out


_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def duration_seconds(value):
    """Seconds of an ISO 8601 duration as the SDKs write it (``PT1M35S``, ``PT10M00S``, ``P0D``, ``P``), else None."""
    match = _DURATION.match(_text(value).upper()) if isinstance(value, str) else None
    if not match:
        return None
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return parts.get("d", 0) * 86400 + parts.get("h", 0) * 3600 + parts.get("m", 0) * 60 + parts.get("s", 0)


def failed_step(props):
    """The first task of ``extendedInfo.tasksList`` whose status is Failed: ``{task_id, status, duration_seconds}``."""
    tasks = _get(_get(props, "extendedInfo"), "tasksList")
    if not isinstance(tasks, Sequence) or isinstance(tasks, (str, bytes)):
        return None
    for task in tasks:
        if isinstance(task, Mapping) and _text(_get(task, "status")).casefold() == "failed":
            return {
                "task_id": _text(_get(task, "taskId"))[:_MAX_TEXT],
                "status": _text(_get(task, "status")),
                "duration_seconds": duration_seconds(_get(task, "duration")),
            }
    return None


# ---- one job ------------------------------------------------------------------------------------
def _parse_time(value):
    if isinstance(value, datetime.datetime):
        dt = value
    elif isinstance(value, str) and value.strip():
        text = value.strip().replace(" ", "T", 1) if re.match(r"^\d{4}-\d\d-\d\d \d", value.strip()) else value.strip()
        text = re.sub(r"[Zz]$", "+00:00", text)
        text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # .NET prints 7 fractional digits
        try:
            dt = datetime.datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.UTC)
    return dt.astimezone(datetime.UTC)


def _container(props):
    """(resource group, vm) from ``iaasvmcontainerv2;<rg>;<vm>`` (also inside longer protected-item names)."""
    name = _text(_get(props, "containerName"))
    parts = name.split(";")
    for index, part in enumerate(parts[:-2]):
        if part.strip().casefold() == "iaasvmcontainerv2":
            rg, vm = parts[index + 1].strip(), parts[index + 2].strip()
            if rg and vm:
                return rg, vm
    return "", ""


def _resource_id(props, extended):
    bag = _get(extended, "propertyBag")
    candidates = [_get(props, "sourceResourceId", "resourceId", "virtualMachineId", "vmId")]
    candidates.append(_get(bag, "VM Id", "VMId", "Resource Id", "ResourceId"))
    for candidate in candidates:
        text = _text(candidate)
        match = _VM_ID.match(text)
        if match:
            return text, match.group("rg"), match.group("vm")
    return "", "", ""


def normalize_job(raw, position):
    """A job in either key shape -> a flat record; ``record['problem']`` says why it can't be placed."""
    record = {
        "job_id": "",
        "position": position,
        "vm_name": "",
        "resource_group": "",
        "resource_id": "",
        "status": "",
        "operation": "",
        "start_time": "",
        "codes": [],
        "unknown_codes": [],
        "error_numbers": [],
        "message": "",
        "recommendations": [],
        "failed_step": None,
        "problem": "",
    }
    if not isinstance(raw, Mapping):
        record["problem"] = f"job #{position} is a {type(raw).__name__}, not an object"
        record["job_id"] = f"#{position}"
        return record, None
    props = _get(raw, "properties")
    if not isinstance(props, Mapping):
        props = raw  # already the properties (flat form)
    job_id = _text(_get(raw, "name")) or _text(_get(raw, "jobId", "id")).rsplit("/", 1)[-1]
    record["job_id"] = job_id or f"#{position}"
    extended = _get(props, "extendedInfo")
    bag = _get(extended, "propertyBag")
    rid, rid_rg, rid_vm = _resource_id(props, extended)
    cont_rg, cont_vm = _container(props)
    record["vm_name"] = _text(_get(props, "entityFriendlyName")) or _text(_get(bag, "VM Name")) or cont_vm or rid_vm
    record["resource_group"] = rid_rg or cont_rg
    record["resource_id"] = rid
    record["status"] = _text(_get(props, "status"))
    record["operation"] = _text(_get(props, "operation"))
    when = _parse_time(_get(props, "startTime")) or _parse_time(_get(props, "endTime"))
    record["start_time"] = when.isoformat() if when else ""
    codes, unknown, message = job_codes(props)
    record.update(codes=codes, unknown_codes=unknown, message=message)
    record.update(
        error_numbers=error_numbers(props), recommendations=recommendations(props), failed_step=failed_step(props)
    )
    if not record["vm_name"]:
        record["problem"] = (
            f"job {record['job_id']} names no VM (properties.entityFriendlyName, extendedInfo.propertyBag"
            " 'VM Name' and containerName are all missing)"
        )
    return record, when


# ---- the input as a whole ---------------------------------------------------------------------------
def _next_link(page):
    """A page's ``nextLink`` (JobResourceList.next_link; either key shape), '' when it is the last page."""
    return _text(_get(page, "nextLink")) if isinstance(page, Mapping) else ""


def _without_query(url):
    """``url`` without its query string or user info: a link is named, never its tokens."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _incomplete_note(link, jobs):
    return (
        f"the saved jobs end with a page whose nextLink ({_without_query(link)}) was not followed: only the"
        f" {jobs} job(s) read were triaged, the failed jobs on the pages after it were NOT -- save every page"
        " (az backup job list does) or query the vault with vmbackup_triage_vault"
    )


def extract_jobs(data, notes=None):
    """The list of jobs in a saved file, a REST page, or a registered module result.

    ``notes`` (a list) receives a message when the last page read still has a ``nextLink``: the
    jobs after it are missing, which must never pass silently.
    """
    notes = [] if notes is None else notes
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise JobsError(f"the jobs are not valid JSON: {exc}") from None
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        jobs, last_link = [], ""
        for item in data:
            # Saved pages one after another, or azure_rm_resource_info's `response` holding whole pages.
            if isinstance(item, Mapping) and isinstance(_get(item, "value"), list) and not _get(item, "properties"):
                jobs.extend(_get(item, "value"))
                last_link = _next_link(item)
            else:
                _raise_on_error_body(item)
                jobs.append(item)
        if last_link:
            notes.append(_incomplete_note(last_link, len(jobs)))
        return jobs
    if isinstance(data, Mapping):
        if data.get("failed"):
            raise JobsError(f"the job query failed: {data.get('msg') or 'no message'}")
        _raise_on_error_body(data)
        if isinstance(_get(data, "value"), list):
            return extract_jobs([data], notes)
        for key in ("response", "jobs", "backup_jobs", "backupJobs", "items"):
            inner = data.get(key)
            if isinstance(inner, Sequence) and not isinstance(inner, (str, bytes)):
                return extract_jobs(inner, notes)
        if _get(data, "properties") is not None or _get(data, "entityFriendlyName") is not None:
            return [data]
        raise JobsError(
            "no jobs found: expected a list of jobs, a REST page {'value': [...]}, or a registered result with"
            f" 'response' / 'jobs'; got an object with keys {sorted(str(k) for k in data)[:10]}"
        )
    raise JobsError(f"expected a list of Azure Backup jobs (JSON), got {type(data).__name__}")


def _raise_on_error_body(item):
    error = _get(item, "error") if isinstance(item, Mapping) else None
    if isinstance(error, Mapping) and _get(item, "properties") is None:
        raise JobsError(
            f"Azure returned an error instead of jobs: {_text(_get(error, 'code'))}: {_text(_get(error, 'message'))}"
        )


def inventory_identities(inventory, hosts=None):
    """``{host: {vm_name, resource_group, resource_id}}`` from host variables (defaults: the host name)."""
    if not isinstance(inventory, Mapping):
        raise JobsError(
            f"the inventory must be a mapping of host -> variables (hostvars), got {type(inventory).__name__}"
        )
    names = list(inventory.keys()) if hosts is None else list(hosts)
    out = {}
    for host in names:
        host = str(host)
        try:
            hv = inventory[host]
        except KeyError:
            hv = {}
        if not isinstance(hv, Mapping):
            hv = {}
        vm_name = _text(hv.get(HOST_VARS["vm_name"])) or host
        rid = _text(hv.get(HOST_VARS["resource_id"]))
        rg = _text(hv.get(HOST_VARS["resource_group"]))
        match = _VM_ID.match(rid)
        if match:
            rg = rg or match.group("rg")
            vm_name = _text(hv.get(HOST_VARS["vm_name"])) or match.group("vm")
        out[host] = {"vm_name": vm_name, "resource_group": rg, "resource_id": rid}
    return out


def _same(a, b):
    return a.casefold() == b.casefold()


def map_job(job, identities):
    """(host, None) or (None, reason) for one job."""
    if job["resource_id"]:
        by_id = [h for h, i in identities.items() if i["resource_id"] and _same(i["resource_id"], job["resource_id"])]
        if len(by_id) == 1:
            return by_id[0], None
        if len(by_id) > 1:
            return None, f"resource id {job['resource_id']} is set on several hosts: {', '.join(sorted(by_id))}"
    by_name = [h for h, i in identities.items() if _same(i["vm_name"], job["vm_name"])]
    if not by_name:
        return None, f"no triaged inventory host is VM '{job['vm_name']}' (set vmbackup_azure_vm_name on the host)"
    if job["resource_group"]:
        exact = [h for h in by_name if _same(identities[h]["resource_group"], job["resource_group"])]
        loose = [h for h in by_name if not identities[h]["resource_group"]]
        candidates = exact or loose
        if not candidates:
            groups = ", ".join(f"{h} ({identities[h]['resource_group']})" for h in sorted(by_name))
            return None, (
                f"VM '{job['vm_name']}' is in resource group '{job['resource_group']}', but the hosts of that name"
                f" are in other resource groups: {groups}"
            )
    else:
        candidates = by_name
    if len(candidates) > 1:
        return None, (
            f"VM name '{job['vm_name']}' matches several hosts ({', '.join(sorted(candidates))}) and the job does not"
            " say which: set vmbackup_azure_resource_group or vmbackup_azure_resource_id on them"
        )
    return candidates[0], None


def _job_finding(job, code):
    """The fail finding a failed backup job implies for one of its codes, with the code's doc_url."""
    entry = lookup(code)
    when = f" at {job['start_time']}" if job["start_time"] else ""
    detail = f"Azure Backup job {job['job_id']}{when} failed with {code}"
    if job["error_numbers"]:
        detail += f" (errorCode {', '.join(str(n) for n in job['error_numbers'])})"
    if job["message"]:
        detail += f": {job['message']}"
    detail += _job_context(job)
    fix = entry.fix
    if entry.role and not entry.implemented:
        fix += " (no role for this code in this release)"
    return dict(make_finding(code, "fail", detail, fix), doc_url=entry.doc_url)


def _job_context(job):
    """The failed step of ``extendedInfo.tasksList`` and Azure Backup's own recommendations, as text."""
    text = ""
    step = job["failed_step"]
    if step:
        text += f" Failed step: {step['task_id'] or '?'}."
    if job["recommendations"]:
        text += f" Azure Backup recommends: {' '.join(job['recommendations'])}"
    return text


def _job_summary(job, keys=("job_id", "vm_name", "resource_group", "resource_id", "status", "operation", "start_time")):
    return {key: job[key] for key in keys}


def _sort_key(item):
    job, when = item
    return (when is not None, when or datetime.datetime.min.replace(tzinfo=datetime.UTC), -job["position"])


def backup_job_findings(data, inventory, hosts=None, operations=None):
    """Failed jobs + inventory -> ``{hosts, unmapped, unknown, skipped, summary}`` (see the filter's doc)."""
    incomplete = []
    raw_jobs = extract_jobs(data, incomplete)
    identities = inventory_identities(inventory, hosts)
    if operations is not None and not isinstance(operations, Sequence) or isinstance(operations, (str, bytes)):
        raise JobsError(f"operations must be a list of operation names, got {type(operations).__name__}")
    wanted_ops = {str(o).casefold() for o in operations or []}

    unmapped, skipped, unknown = [], [], []
    failed_by_host, success_by_host = {}, {}
    for position, raw in enumerate(raw_jobs):
        job, when = normalize_job(raw, position)
        status = job["status"].casefold()
        failed = status in ("", "failed")
        if wanted_ops and job["operation"].casefold() not in wanted_ops:
            skipped.append({**_job_summary(job), "reason": f"operation '{job['operation']}' was not asked for"})
            continue
        if not failed and status not in SUCCESS_STATUSES:
            skipped.append({**_job_summary(job), "reason": f"status {job['status']}: not a failure"})
            continue
        if job["problem"]:
            if failed:
                unmapped.append({**_job_summary(job), "codes": job["codes"], "reason": job["problem"]})
                _note_unknown(unknown, job, None)
            else:
                skipped.append({**_job_summary(job), "reason": f"status {job['status']}: not a failure"})
            continue
        host, reason = map_job(job, identities)
        if host is None:
            if failed:
                unmapped.append({**_job_summary(job), "codes": job["codes"], "reason": reason})
                _note_unknown(unknown, job, None)
            else:
                skipped.append({**_job_summary(job), "reason": f"status {job['status']}: not a failure"})
            continue
        (failed_by_host if failed else success_by_host).setdefault(host, []).append((job, when))

    result_hosts = {}
    for host, items in failed_by_host.items():
        # Jobs of VMs in different resource groups that all fell on one host (which names no resource
        # group): the host can't be told apart; report them instead of picking one.
        groups = {job["resource_group"].casefold() for job, _dummy in items if job["resource_group"]}
        if len(groups) > 1:
            names = ", ".join(sorted({job["resource_group"] for job, _dummy in items if job["resource_group"]}))
            for job, _dummy in items:
                unmapped.append(
                    {
                        **_job_summary(job),
                        "codes": job["codes"],
                        "reason": f"VM '{job['vm_name']}' exists in several resource groups ({names}) and host"
                        f" '{host}' names none: set vmbackup_azure_resource_group on it",
                    }
                )
                _note_unknown(unknown, job, None)
            continue
        items.sort(key=_sort_key, reverse=True)
        newest, newest_when = items[0]
        later = [
            (job, when)
            for job, when in success_by_host.get(host, [])
            if when is not None and newest_when is not None and when > newest_when
        ]
        if later:
            ok_job = max(later, key=_sort_key)[0]
            for job, _dummy in items:
                skipped.append(
                    {
                        **_job_summary(job),
                        "reason": f"a later backup job {ok_job['job_id']} ({ok_job['start_time']}) of this VM"
                        f" ended {ok_job['status']}",
                    }
                )
            continue
        error = ""
        if not newest["codes"]:
            error = f"Azure Backup job {newest['job_id']} failed with no error code the catalog knows"
            if newest["unknown_codes"]:
                error += f" ({', '.join(newest['unknown_codes'])})"
            if newest["message"]:
                error += f": {newest['message']}"
            error += _job_context(newest)
        result_hosts[host] = {
            "codes": list(newest["codes"]),
            "job": {
                **_job_summary(newest),
                "codes": list(newest["codes"]),
                "unknown_codes": list(newest["unknown_codes"]),
                "error_numbers": list(newest["error_numbers"]),
                "message": newest["message"],
                "recommendations": list(newest["recommendations"]),
                "failed_step": newest["failed_step"],
                "older_failed_jobs": [job["job_id"] for job, _dummy in items[1:]],
            },
            "findings": [_job_finding(newest, code) for code in newest["codes"]],
            "error": error,
        }
        _note_unknown(unknown, newest, host)
    for items in success_by_host.values():
        for job, _dummy in items:
            skipped.append({**_job_summary(job), "reason": f"status {job['status']}: not a failure"})

    ordered = {host: result_hosts[host] for host in identities if host in result_hosts}
    return {
        "hosts": ordered,
        "lines": [f"INCOMPLETE: {note}" for note in incomplete] + describe(ordered, unmapped, unknown),
        "incomplete": incomplete,
        "unmapped": unmapped,
        "unknown": unknown,
        "skipped": skipped,
        "summary": {
            "incomplete": bool(incomplete),
            "jobs": len(raw_jobs),
            "hosts": len(ordered),
            "unmapped": len(unmapped),
            "unknown": len(unknown),
            "skipped": len(skipped),
        },
    }


def describe(hosts, unmapped, unknown):
    """Terminal lines: which host gets which code, then every job that could not be placed or read."""
    lines = []
    for host, item in hosts.items():
        job = item["job"]
        when = f", {job['start_time']}" if job["start_time"] else ""
        lines.append(f"{host}: {', '.join(item['codes']) or 'no known code'} (job {job['job_id']}{when})")
    for job in unmapped:
        codes = ", ".join(job.get("codes") or []) or "no known code"
        lines.append(f"UNMAPPED job {job['job_id']} (VM {job['vm_name'] or '?'}, {codes}): {job['reason']}")
    for job in unknown:
        lines.append(f"UNKNOWN job {job['job_id']} (VM {job['vm_name'] or '?'}): {job['reason']}")
    return lines or ["no failed job to triage"]


def _note_unknown(unknown, job, host):
    # A job whose code or documented message the catalog recognises is triaged by it: an errorCode
    # number the catalog does not list (most of them: AzureIaaSVMErrorInfo.errorCode is an integer)
    # stays beside it in error_numbers, it does not make the job UNKNOWN.
    if job["codes"]:
        return
    reason = (
        f"codes the catalog does not know: {', '.join(job['unknown_codes'])}"
        if job["unknown_codes"]
        else "no error code or documented message the catalog knows"
    )
    unknown.append(
        {
            **_job_summary(job),
            "host": host,
            "codes": list(job["codes"]),
            "unknown_codes": list(job["unknown_codes"]),
            "error_numbers": list(job["error_numbers"]),
            "message": job["message"],
            "reason": reason,
        }
    )


# ---- live query (vmbackup.azure.backup_jobs_info) -------------------------------------------------
_ARM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.()\-]{0,89}$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def live_query_args(vault, subscription_id, api_version=API_VERSION, job_filter=DEFAULT_FILTER):
    """Arguments for ``azure_rm_resource_info`` listing a vault's failed IaaS VM backup jobs.

    ``vault`` is ``{name, resource_group}`` (``subscription_id`` may be in it too). The REST path is
    field-notes section 5; ``backup_jobs_info`` sends ``api-version`` and the filter, then follows each ``nextLink``.
    """
    if not isinstance(vault, Mapping):
        raise JobsError(
            f"vmbackup_triage_vault must be a mapping with name and resource_group, got {type(vault).__name__}"
        )
    name = _text(vault.get("name"))
    group = _text(vault.get("resource_group"))
    subscription = _text(vault.get("subscription_id")) or _text(subscription_id)
    missing = [k for k, v in (("name", name), ("resource_group", group), ("subscription_id", subscription)) if not v]
    if missing:
        raise JobsError(
            f"vmbackup_triage_vault needs {', '.join(missing)}"
            " (the subscription may also come from AZURE_SUBSCRIPTION_ID)"
        )
    if not _ARM_NAME.match(name) or not _ARM_NAME.match(group):
        raise JobsError(f"vmbackup_triage_vault: invalid vault or resource group name {name!r} / {group!r}")
    if not _GUID.match(subscription):
        raise JobsError(f"vmbackup_triage_vault: subscription_id {subscription!r} is not a GUID")
    url = (
        f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.RecoveryServices"
        f"/vaults/{name}/backupJobs"
    )
    # The filter goes out once, as a query parameter of the first request; every nextLink already
    # carries it and is followed as it is (module backup_jobs_info, module_utils/_arm.py).
    return {"url": url, "api_version": str(api_version), "filter": str(job_filter or "")}


# ---- one host's triage result, after its roles ran ------------------------------------------------------
def triage_result(host_triage, os_family, outcomes=None, failures=None, check_mode=True, waived=()):
    """A host's result for the report: the fix roles' findings where a role ran, the job's otherwise.

    ``host_triage`` is one value of ``backup_job_findings(...)["hosts"]``; ``outcomes`` maps a code to
    the registered result of its fix role (``<role>_result``; None when the role did not run);
    ``failures`` maps a code to the message of a role that failed before registering anything.
    An unreachable outcome makes the host unreachable (the job is kept). ``changed`` is reported
    only when the run was not in check mode and the code is not waived.
    """
    if not isinstance(host_triage, Mapping):
        raise JobsError(f"expected one host of backup_job_findings(...).hosts, got {type(host_triage).__name__}")
    outcomes = dict(outcomes or {})
    failures = dict(failures or {})
    job = dict(host_triage.get("job") or {})
    for code, outcome in outcomes.items():
        if isinstance(outcome, Mapping) and outcome.get("unreachable"):
            return {
                "unreachable": True,
                "msg": str(outcome.get("msg") or f"unreachable while fixing {code}"),
                "job": job,
            }
    findings = []
    for job_finding in host_triage.get("findings") or []:
        code = job_finding["error_code"]
        outcome = outcomes.get(code)
        if code in failures:
            finding = {
                **job_finding,
                "status": "error",
                "detail": f"the fix for {code} failed: {failures[code]} ({job_finding['detail']})",
            }
        elif not isinstance(outcome, Mapping) or outcome.get("skipped"):
            finding = dict(job_finding)
            entry = lookup(code)
            if entry.role and entry.implemented and os_family not in entry.os:
                finding["fix"] = f"{entry.fix} (the role is for {', '.join(entry.os)}, this host is {os_family})"
        elif outcome.get("failed") or not isinstance(outcome.get("finding"), Mapping):
            finding = {
                **job_finding,
                "status": "error",
                "detail": f"the fix for {code} failed: {outcome.get('msg') or 'no result'} ({job_finding['detail']})",
            }
        else:
            finding = {**job_finding, **dict(outcome["finding"]), "error_code": code}
            finding["changed"] = bool(outcome.get("changed")) and not check_mode and code not in waived
        findings.append(finding)
    return {"os_family": os_family, "findings": findings, "job": job, "host_error": str(host_triage.get("error") or "")}
