"""vmbackup.azure.waagent_security_policy and the UserErrorVmNotInDesirableState scan on real Debian chroots.

Two chroot test hosts (tools/linux_chroot.py: a cached debootstrap root with SELinux policy + semanage,
fapolicyd and AppArmor, one overlay per host) reached with the community.general.chroot connection:

* ``secure`` - every mechanism active the way a host configured for the next boot is: SELinux
  ``enforcing`` in /etc/selinux/config, fapolicyd enabled with the known-libs rule set compiled by
  fagenrules, AppArmor enabled with a profile confining waagent that includes its local override (which
  already holds a site rule), a VMSnapshotLinux handler directory labelled by setfiles (var_lib_t).
* ``plain`` - SELinux disabled, fapolicyd and AppArmor not enabled, no extension.

The real tools run inside the chroot (semanage, setfiles, fagenrules, apparmor_parser); the test reads
the results from the files and labels they leave. This kernel runs no LSM, so nothing is enforced:
reloading a running fapolicyd / a loaded AppArmor profile is not exercised here. Needs root.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT, run_playbook

sys.path.insert(0, os.path.join(ROOT, "tools"))
import linux_chroot  # noqa: E402

HANDLER = "/var/lib/waagent/Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9188.0"
LOCAL = "/etc/apparmor.d/local/usr.sbin.waagent"
RULES = "/etc/fapolicyd/rules.d/40-vmbackup-waagent.rules"
SITE_RULE = "# site rules kept by the fix\n/opt/site/** r,\n"
KNOWN_LIBS = (
    "10-languages",
    "20-dracut",
    "21-updaters",
    "30-patterns",
    "40-bad-elf",
    "41-shared-obj",
    "42-trusted-elf",
    "70-trusted-lang",
    "72-shell",
    "90-deny-execute",
    "95-allow-open",
)
# What the module may change; compared byte for byte (and labels) around check-mode runs.
WATCHED = [
    "/etc/selinux/default/contexts/files",
    "/var/lib/selinux/default/active",
    "/etc/fapolicyd",
    "/etc/apparmor.d",
    "/var/lib/waagent",
]

CHECK_PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - block:  # must fail; its result is asserted from the callback output
        - name: bad input fails before any change
          vmbackup.azure.waagent_security_policy:
            fapolicyd_rule_file: /etc/fapolicyd/99-late.rules
      rescue:
        - name: bad input was rejected
          ansible.builtin.set_fact:
            bad_input_rejected: true
    - name: scan without consent
      vmbackup.azure.backup_scan:
        codes: [VmNotInDesirableState]
    - name: apply without consent
      vmbackup.azure.waagent_security_policy:
- hosts: all
  gather_facts: false
  vars:
    user_error_vm_not_in_desirable_state_exclude_agent: true
  tasks:
    - name: scan
      vmbackup.azure.backup_scan:
        codes: [VmNotInDesirableState]
    - name: check mode
      vmbackup.azure.waagent_security_policy:
        exclude_agent: true
      check_mode: true
"""

APPLY_PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - name: apply
      vmbackup.azure.waagent_security_policy:
        exclude_agent: true
    - name: apply again
      vmbackup.azure.waagent_security_policy:
        exclude_agent: true
      register: again
    - name: scan after
      vmbackup.azure.backup_scan:
        codes: [UserErrorVmNotInDesirableState]
"""

ABSENT_PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - name: absent
      vmbackup.azure.waagent_security_policy:
        state: absent
    - name: absent again
      vmbackup.azure.waagent_security_policy:
        state: absent
"""


def chroot(root, *argv, check=True):
    proc = subprocess.run(["chroot", root, *argv], capture_output=True, text=True, check=False)
    assert not check or proc.returncode == 0, proc.stderr
    return proc


def host_file(root, path):
    return os.path.join(root, path.lstrip("/"))


def write(root, path, text, mode=0o644):
    full = host_file(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(full, mode)


def read(root, path):
    try:
        with open(host_file(root, path), encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def label(root, path):
    return os.getxattr(host_file(root, path), "security.selinux", follow_symlinks=False).decode().strip("\x00")


def fcontext_local(root):
    return chroot(root, "semanage", "fcontext", "-l", "-C", "-n").stdout


def make_secure(root):
    linux_chroot.configure(root, selinux="enforcing", fapolicyd=True, apparmor=True)
    for name in KNOWN_LIBS:
        text = read(root, f"/usr/share/fapolicyd/sample-rules/{name}.rules")
        write(root, f"/etc/fapolicyd/rules.d/{name}.rules", text)
    chroot(root, "fagenrules")
    write(root, f"{HANDLER}/main/handle.sh", '#!/bin/sh\nexec python3 main/handle.py "$@"\n', 0o755)
    write(root, f"{HANDLER}/HandlerEnvironment.json", "[]\n")
    write(root, f"{HANDLER}/config/0.settings", "{}\n", 0o600)
    write(root, "/var/lib/waagent/Certificates.pem", "-----BEGIN CERTIFICATE-----\n", 0o600)
    # A labelled SELinux host: everything carries the policy's default label.
    chroot(root, "setfiles", "/etc/selinux/default/contexts/files/file_contexts", "/var/lib/waagent")
    write(
        root,
        "/etc/apparmor.d/usr.sbin.waagent",
        "abi <abi/3.0>,\ninclude <tunables/global>\n\n"
        "profile waagent /usr/sbin/waagent flags=(complain) {\n"
        "  include <abstractions/base>\n  include <abstractions/python>\n  /usr/sbin/waagent r,\n"
        "  include if exists <local/usr.sbin.waagent>\n}\n",
    )
    write(root, LOCAL, SITE_RULE)


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    """Two chroot hosts; yields (inventory path, {name: root})."""
    base = tmp_path_factory.mktemp("secpolicy")
    states = {}
    try:
        for name in ("secure", "plain"):
            states[name] = linux_chroot.up(str(base / name))
        make_secure(states["secure"]["root"])
        linux_chroot.configure(states["plain"]["root"], selinux="disabled", fapolicyd=False, apparmor=False)
        inv_hosts = {}
        for name, state in states.items():
            inv_hosts[name] = {
                "ansible_connection": "community.general.chroot",
                "ansible_host": state["root"],
                "ansible_python_interpreter": "/usr/bin/python3",
            }
        inventory = base / "inventory.yml"
        inventory.write_text(yaml.safe_dump({"all": {"hosts": inv_hosts}}))
        yield inventory, {name: state["root"] for name, state in states.items()}
    finally:
        for state in states.values():
            linux_chroot.down(state["workdir"])


def play(tmp_path, inventory, text, *args):
    playbook = tmp_path / "play.yml"
    playbook.write_text(text)
    proc = run_playbook(inventory, playbook, *args, json_output=True)
    assert hasattr(proc, "json"), proc.stdout + proc.stderr
    return proc


def results(proc, name):
    out = {}
    for p in proc.json["plays"]:
        for task in p["tasks"]:
            if task["task"]["name"] == name:
                out.update(task["hosts"])
    return out


def scan_finding(result):
    (finding,) = [f for f in result["findings"] if f["error_code"] == "UserErrorVmNotInDesirableState"]
    return finding


def test_check_fix_idempotence_scan_and_absent(hosts, tmp_path):
    inventory, roots = hosts
    secure, plain = roots["secure"], roots["plain"]
    before = {name: linux_chroot.tree_state(root, WATCHED) for name, root in roots.items()}
    assert label(secure, f"{HANDLER}/main/handle.sh").split(":")[2] == "var_lib_t"

    # 1. bad input, scan and check mode (with --diff) change nothing
    proc = play(tmp_path, inventory, CHECK_PLAYBOOK, "--diff")
    bad = results(proc, "bad input fails before any change")
    for name in roots:
        assert bad[name]["failed"] and bad[name]["msg"].startswith("fapolicyd_rule_file:"), bad[name]
    assert {name: linux_chroot.tree_state(root, WATCHED) for name, root in roots.items()} == before

    # without consent: nothing changes, and the scan says exactly what would be added
    unconsented = results(proc, "apply without consent")["secure"]
    assert not unconsented["changed"] and unconsented["finding"]["status"] == "fail"
    assert all(not a["allowed"] for a in unconsented["finding"]["actions"])
    scan0 = scan_finding(results(proc, "scan without consent")["secure"])
    assert scan0["status"] == "fail" and all(not a["allowed"] for a in scan0["actions"])
    assert "exclude_agent: true" in scan0["fix"]
    for added in ("semanage fcontext --add -t bin_t", "allow perm=any uid=0 : dir=/var/lib/waagent/", "/** Ux,"):
        assert added in scan0["fix"], scan0["fix"]

    check = results(proc, "check mode")["secure"]
    scan = scan_finding(results(proc, "scan")["secure"])
    assert check["changed"] and check["finding"]["status"] == "fail", check["finding"]
    assert scan["status"] == "fail"
    # the scan and the fix in check mode agree (same evaluator, same gathered facts)
    assert scan["actions"] == check["finding"]["actions"]
    assert scan["fix"] == check["finding"]["fix"]
    kinds = [(a["mechanism"], a["action"], a["allowed"]) for a in scan["actions"]]
    assert kinds == [
        ("selinux", "selinux_fcontext", True),
        ("selinux", "selinux_relabel", True),
        ("fapolicyd", "fapolicyd_rule", True),
        ("fapolicyd", "fapolicyd_compile", True),
        ("apparmor", "apparmor_local", True),
    ]
    assert "VMSnapshotLinux extension installed (1.0.9188.0)" in scan["detail"]
    diff_text = json.dumps(check["diff"])
    assert "allow perm=any uid=0 : dir=/var/lib/waagent/" in diff_text and "/var/lib/waagent/** Ux," in diff_text
    assert "6 var_lib_t" in diff_text  # the handler directory's labels before

    plain_check = results(proc, "check mode")["plain"]
    assert not plain_check["changed"] and plain_check["finding"]["status"] == "not_applicable"
    assert "VMSnapshotLinux extension not installed" in plain_check["finding"]["detail"]
    assert scan_finding(results(proc, "scan")["plain"])["status"] == "not_applicable"

    # 2. apply, apply again (idempotent), scan passes
    proc = play(tmp_path, inventory, APPLY_PLAYBOOK)
    applied = results(proc, "apply")
    assert applied["secure"]["changed"] and applied["secure"]["finding_after"]["status"] == "pass"
    assert not applied["plain"]["changed"]
    again = results(proc, "apply again")
    assert not again["secure"]["changed"] and not again["plain"]["changed"], again
    assert scan_finding(results(proc, "scan after")["secure"])["status"] == "pass"

    assert "/var/lib/waagent/[^/]+-[0-9][^/]*(/.*)?" in fcontext_local(secure)
    assert "system_u:object_r:bin_t:s0" in fcontext_local(secure)
    for path in (HANDLER, f"{HANDLER}/main/handle.sh", f"{HANDLER}/config/0.settings"):
        assert label(secure, path).split(":")[2] == "bin_t", path
    assert label(secure, "/var/lib/waagent/Certificates.pem").split(":")[2] == "var_lib_t"
    assert label(secure, "/var/lib/waagent").split(":")[2] == "var_lib_t"
    compiled = [line for line in read(secure, "/etc/fapolicyd/compiled.rules").splitlines() if not line.startswith("#")]
    ours = compiled.index("allow perm=any uid=0 : dir=/var/lib/waagent/")
    assert compiled[ours - 1] == "deny_audit perm=any all : ftype=application/x-bad-elf"
    assert compiled[ours + 2] == "deny_audit perm=open all : ftype=application/x-sharedlib"
    local = read(secure, LOCAL)
    assert local.startswith(SITE_RULE) and "/var/lib/waagent/** Ux," in local
    (backup,) = applied["secure"]["backup_files"]
    assert read(secure, backup) == SITE_RULE
    # the real parser accepts the profile with our override
    chroot(secure, "apparmor_parser", "-Q", "-K", "-T", "/etc/apparmor.d/usr.sbin.waagent")
    assert linux_chroot.tree_state(plain, WATCHED) == before["plain"]

    # 3. absent removes exactly what was added; a second run changes nothing
    proc = play(tmp_path, inventory, ABSENT_PLAYBOOK)
    gone = results(proc, "absent")["secure"]
    assert gone["changed"], gone
    assert not results(proc, "absent again")["secure"]["changed"]
    assert SELINUX_SPEC_TEXT not in fcontext_local(secure)
    assert read(secure, RULES) is None
    assert "dir=/var/lib/waagent/" not in read(secure, "/etc/fapolicyd/compiled.rules")
    assert read(secure, LOCAL) == SITE_RULE
    after = linux_chroot.tree_state(secure, ["/var/lib/waagent", "/etc/fapolicyd/rules.d"])
    assert after == {
        k: v for k, v in before["secure"].items() if k.startswith(("var/lib/waagent", "etc/fapolicyd/rules.d"))
    }


SELINUX_SPEC_TEXT = "/var/lib/waagent/[^/]+-[0-9][^/]*(/.*)?"


MARKER_PLAYBOOK = """
- hosts: secure
  gather_facts: false
  tasks:
    - name: present
      vmbackup.azure.waagent_security_policy:
        exclude_agent: true
        mechanisms: [fapolicyd, apparmor]
    - name: absent
      vmbackup.azure.waagent_security_policy:
        state: absent
        mechanisms: [fapolicyd, apparmor]
"""


def test_only_content_with_our_marker_is_touched(hosts, tmp_path):
    """a rules file we did not write, an override whose END marker is missing."""
    inventory, roots = hosts
    secure = roots["secure"]
    foreign = "# the site's own rule\nallow perm=open all : dir=/opt/site/\n"
    unterminated = SITE_RULE + "# BEGIN vmbackup.azure waagent (UserErrorVmNotInDesirableState)\n/site/keep r,\n"
    write(secure, RULES, foreign, 0o644)
    write(secure, LOCAL, unterminated, 0o644)
    try:
        proc = play(tmp_path, inventory, MARKER_PLAYBOOK)
        for name in ("present", "absent"):
            res = results(proc, name)["secure"]
            assert not res.get("failed"), res
            assert read(secure, RULES) == foreign, name
            assert read(secure, LOCAL) == unterminated, name
            refused = " ".join(r for m in res["mechanisms"] for r in m["refused"])
            assert "was not written by this collection" in refused, refused
            assert "has no '# END vmbackup.azure waagent'" in refused, refused
    finally:
        os.unlink(os.path.join(secure, RULES.lstrip("/")))
        write(secure, LOCAL, SITE_RULE, 0o644)
