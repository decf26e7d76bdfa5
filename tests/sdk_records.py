"""Azure Backup job records built with the Recovery Services SDK's own models, serialised as the service does.

Run as a script (``python tests/sdk_records.py < spec.json > page.json``) so that each SDK version runs in
its own interpreter: the version azure.azcollection pins (azure-mgmt-recoveryservicesbackup 9.1.0, in
.venv through requirements/) and the newest (11.2.0, unpacked by ``make setup`` into
build/sdk-newest: put it first on PYTHONPATH). Nothing here writes a field by hand: every job is a
``JobResource`` holding an ``AzureIaaSVMJob`` with ``AzureIaaSVMErrorInfo`` (integer ``errorCode``),
``AzureIaaSVMJobExtendedInfo`` (``tasksList`` of ``AzureIaaSVMJobTaskDetails``, ``propertyBag``,
``dynamicErrorMessage``) and ``timedelta`` durations, and the SDK serialises them:

- 9.1.0 (msrest-style models): ``JobResourceList(value=..., next_link=...).serialize(keep_readonly=True)``
  (activestamp/models/_models_py3.py: ``JobResourceList._attribute_map`` = ``nextLink`` + ``value``;
  ``id``/``name``/``type`` are read-only, which the service does return).
- 11.2.0 (TypeSpec models): ``json.dumps(model, cls=SdkJSONEncoder)`` (_utils/model_base.py); the page
  envelope is what its ``JobsOperations.list`` reads back (operations/_operations.py:
  ``deserialized.get("value", [])`` and ``deserialized.get("nextLink")``).

Spec (JSON on stdin): ``{"next_link": str|null, "jobs": [{"name", "vm", "rg", "vault_rg", "vault",
"status", "start", "end", "duration_s", "error_code", "error_string", "error_title",
"recommendations", "tasks": [{"task_id", "status", "duration_s"}], "dynamic_error_message",
"property_bag", "entity_friendly_name"}]}``. Output: the page as the service sends it (JSON).
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys

SUB = "00000000-0000-0000-0000-000000000000"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NEWEST_DIR = os.path.join(ROOT, "build", "sdk-newest")
SDK_VERSIONS = ("pinned", "newest")


def _time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _seconds(value):
    return datetime.timedelta(seconds=value) if value is not None else None


def _make(cls, **fields):
    """``cls`` with ``fields`` set as attributes: 9.1.0's constructors drop read-only fields (all of
    ``AzureIaaSVMErrorInfo``'s, ``id``/``name``/``type``), which the service does send."""
    obj = cls()
    for key, value in fields.items():
        if value is not None:
            setattr(obj, key, value)
    return obj


def _kwargs(models, job):
    errors = []
    if job.get("error_code") is not None or job.get("error_string"):
        errors.append(
            _make(
                models.AzureIaaSVMErrorInfo,
                error_code=job.get("error_code"),
                error_title=job.get("error_title"),
                error_string=job.get("error_string"),
                recommendations=job.get("recommendations"),
            )
        )
    tasks = [
        _make(
            models.AzureIaaSVMJobTaskDetails,
            task_id=t["task_id"],
            status=t["status"],
            start_time=_time(job.get("start")),
            duration=_seconds(t.get("duration_s", 0)),
        )
        for t in job.get("tasks") or []
    ]
    extended = _make(
        models.AzureIaaSVMJobExtendedInfo,
        tasks_list=tasks or None,
        property_bag=job.get("property_bag") or {"VM Name": job["vm"]},
        dynamic_error_message=job.get("dynamic_error_message"),
    )
    props = _make(
        models.AzureIaaSVMJob,
        entity_friendly_name=job.get("entity_friendly_name", job["vm"]),
        backup_management_type="AzureIaasVM",
        operation=job.get("operation", "Backup"),
        status=job.get("status", "Failed"),
        start_time=_time(job.get("start")),
        end_time=_time(job.get("end")),
        activity_id=job.get("activity_id", "a1b2c3d4-0000-4000-8000-000000000000"),
        duration=_seconds(job.get("duration_s", 600)),
        error_details=errors or None,
        virtual_machine_version="Compute",
        extended_info=extended,
        container_name=f"iaasvmcontainerv2;{job['rg']};{job['vm']}",
        is_user_triggered=False,
    )
    job_id = (
        f"/subscriptions/{SUB}/resourceGroups/{job.get('vault_rg', 'rg-backup')}/providers/Microsoft.RecoveryServices"
        f"/vaults/{job.get('vault', 'rsv1')}/backupJobs/{job['name']}"
    )
    return props, job_id


def _resource(models, props, job_id, name):
    return _make(
        models.JobResource, properties=props, id=job_id, name=name, type="Microsoft.RecoveryServices/vaults/backupJobs"
    )


def build(spec):
    """The page for ``spec`` with the SDK importable in this interpreter."""
    from azure.mgmt.recoveryservicesbackup import _version

    if hasattr(__import__("azure.mgmt.recoveryservicesbackup", fromlist=["activestamp"]), "activestamp"):
        from azure.mgmt.recoveryservicesbackup.activestamp import models

        resources = []
        for job in spec["jobs"]:
            props, job_id = _kwargs(models, job)
            resources.append(_resource(models, props, job_id, job["name"]))
        page = models.JobResourceList(value=resources, next_link=spec.get("next_link")).serialize(keep_readonly=True)
    else:  # 10.0.0 and later: TypeSpec models, no JobResourceList
        from azure.mgmt.recoveryservicesbackup import models
        from azure.mgmt.recoveryservicesbackup._utils.model_base import SdkJSONEncoder

        resources = []
        for job in spec["jobs"]:
            props, job_id = _kwargs(models, job)
            resources.append(_resource(models, props, job_id, job["name"]))
        page = {"value": json.loads(json.dumps(resources, cls=SdkJSONEncoder))}
        if spec.get("next_link"):
            page["nextLink"] = spec["next_link"]
    page.setdefault("value", [])
    return {"sdk_version": _version.VERSION, "page": page}


def page_with(sdk, spec, python=sys.executable):
    """Run this file under ``sdk`` ('pinned' or 'newest') and return ``{"sdk_version", "page"}``."""
    env = dict(os.environ)
    if sdk == "newest":
        if not os.path.isdir(os.path.join(NEWEST_DIR, "azure", "mgmt", "recoveryservicesbackup")):
            raise RuntimeError(f"{NEWEST_DIR} is missing: run `make setup` (it unpacks requirements/sdk-newest.txt)")
        env["PYTHONPATH"] = NEWEST_DIR + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [python, os.path.abspath(__file__)],
        input=json.dumps(spec),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise RuntimeError(f"sdk_records.py ({sdk}) failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout)


if __name__ == "__main__":
    json.dump(build(json.load(sys.stdin)), sys.stdout)
