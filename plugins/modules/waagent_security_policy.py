#!/usr/bin/python
# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: waagent_security_policy
short_description: Exclude the Azure Linux agent's extension handlers from SELinux, fapolicyd and AppArmor
version_added: 0.1.0
description:
  - Fix for C(UserErrorVmNotInDesirableState) (alias C(VmNotInDesirableState)) on Linux guests with a
    security-hardened kernel module. Azure Backup's extension (C(VMSnapshotLinux)) is a handler the
    Azure Linux agent downloads under C(/var/lib/waagent); a security policy that denies running it
    makes the backup fail.
  - Detects which mechanisms are active (SELinux enforcing or permissive, now or configured for the
    next boot; fapolicyd running or enabled; AppArmor enabled in the kernel or at boot) and, for each,
    makes the handlers under C(/var/lib/waagent) allowed to run with the mechanism's own tools.
  - B(SELinux) - a local file-context rule C(/var/lib/waagent/[^/]+-[0-9][^/]*(/.*\)?) (the handler
    directories C(<Publisher>.<Type>-<version>) and the agent's C(WALinuxAgent-<version>)) of type
    O(selinux_setype) (C(semanage fcontext)), then a relabel of those directories (C(restorecon -R);
    C(setfiles) when SELinux is not running, e.g. a host configured for the next boot or an image).
    The agent's own state and certificates directly under C(/var/lib/waagent) keep their labels.
  - >-
    B(fapolicyd) - the rules file O(fapolicyd_rule_file) with C(allow perm=any uid=0 : dir=/var/lib/waagent/),
    compiled with C(fagenrules). The running daemon loads it only with O(reload=true)
    (C(fagenrules --load)) or at its next start.
  - B(AppArmor) - nothing unless a profile confines the agent (none ships with the agent or with
    Debian/Ubuntu). For such a profile that includes its C(local/) override, a marked block in
    C(/etc/apparmor.d/local/<profile>) lets the handlers run unconfined (C(Ux)); the result is checked
    with C(apparmor_parser) and the previous content restored if it does not parse. A profile without
    that include is reported, never edited. The loaded profile is replaced only with O(reload=true).
  - Adding the exclusion relaxes a security policy, so it happens only with O(exclude_agent=true); without it
    the module (and the scan) report exactly what would be added and change nothing.
  - O(state=absent) removes exactly what this module adds (the rule, the rules file, the marked block)
    and relabels the handler directories back to the policy's labels. It needs no opt-in.
  - Only content carrying this collection's marker is touched. A rules file at O(fapolicyd_rule_file) whose
    first line is not the marker, or an AppArmor override whose marked block lacks its END line (or has an
    END without BEGIN), is refused - neither overwritten nor deleted - and the task says why.
  - Also reports whether the backup extension (C(Microsoft.Azure.RecoveryServices.VMSnapshotLinux-*)) is
    installed, and a C(noexec) mount of C(/var/lib/waagent) (report only).
  - The plan comes from the same evaluator as the scan (M(vmbackup.azure.backup_scan)), so a scan and a run in
    check mode agree. The VM power-state part of the error is control-plane and not handled here.
options:
  state:
    description:
      - V(present) adds the exclusion for every selected mechanism; V(absent) removes what this module added.
    type: str
    choices: [present, absent]
    default: present
  mechanisms:
    description:
      - V(auto) manages the mechanisms found active (see the description).
      - A list of V(selinux), V(fapolicyd), V(apparmor) manages exactly those, active or not (their tools must
        be installed), for example to prepare an image or a host before enabling the mechanism.
    type: list
    elements: str
    choices: [auto, selinux, fapolicyd, apparmor]
    default: [auto]
  reload:
    description:
      - Apply the change to the running policy now - C(fagenrules --load) makes the running fapolicyd reload its
        rules, C(apparmor_parser -r) replaces the loaded profile. Both change a running security mechanism, so it is
        opt-in. SELinux labels apply at once and need no reload.
      - Only happens when this run changed the rules; after a run without it, run C(fagenrules --load) once or
        restart fapolicyd.
    type: bool
    default: false
  exclude_agent:
    description:
      - Consent to relax the security policy (O(state=present)). V(false) only reports what would be added.
    type: bool
    default: false
  selinux_setype:
    description:
      - SELinux type given to the handler directories. V(bin_t) is the type of C(/usr/bin) - every domain allowed
        to run ordinary programs may run them.
    type: str
    default: bin_t
  fapolicyd_rule_file:
    description:
      - The rules file to write, directly under C(/etc/fapolicyd/rules.d). C(fagenrules) concatenates those files
        in natural sort order and the first matching rule decides, so the number must sort after the C(ld_so)
        pattern and bad-ELF rules (30, 40-bad-elf) and before every other deny (41-shared-obj onwards); a file
        that would come after another deny is refused.
    type: path
    default: /etc/fapolicyd/rules.d/40-vmbackup-waagent.rules
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads everything and reports what would change; runs no C(semanage), C(fagenrules) nor relabel.
  diff_mode:
    support: full
    details: The file-context rules, labels, rules files, compiled rules and AppArmor override before and after.
  platform:
    support: full
    platforms: posix
    details: Linux guests with the Azure Linux agent.
requirements:
  - SELinux - C(semanage) (policycoreutils-python-utils), C(restorecon)/C(setfiles) (policycoreutils).
  - fapolicyd - C(fagenrules). AppArmor - C(apparmor_parser).
  - Root privileges (C(become=true)).
notes:
  - A file this module rewrites is backed up first (RV(backup_files)); C(fagenrules) keeps the previous
    compiled rules as C(compiled.rules.prev).
  - Hosts using the deprecated single file C(/etc/fapolicyd/fapolicyd.rules) are reported, not changed.
  - fapolicyd trust entries (C(fapolicyd-cli --file add)) are not used - they pin each file's size and hash, and the
    agent replaces the handlers with every extension update.
author:
  - vmbackup.azure contributors (@vmbackup)
seealso:
  - module: vmbackup.azure.linux_backup_facts
  - module: vmbackup.azure.backup_scan
  - name: UserErrorVmNotInDesirableState
    description: Microsoft's troubleshooting page, section UserErrorVmNotInDesirableState.
    link: https://learn.microsoft.com/azure/backup/backup-azure-vms-troubleshoot#usererrorvmnotindesirablestate---vm-is-not-in-a-state-that-allows-backups
"""

EXAMPLES = r"""
- name: Exclude the Azure agent's extension handlers from the active security policy
  vmbackup.azure.waagent_security_policy:
    exclude_agent: true
  become: true

- name: Same, and make a running fapolicyd / loaded AppArmor profile pick it up now
  vmbackup.azure.waagent_security_policy:
    exclude_agent: true
    reload: true
  become: true

- name: Prepare SELinux labels on a host before switching it to enforcing
  vmbackup.azure.waagent_security_policy:
    mechanisms: [selinux]
    exclude_agent: true
  become: true

- name: Remove what this module added
  vmbackup.azure.waagent_security_policy:
    state: absent
  become: true
"""

RETURN = r"""
mechanisms:
  description: One entry per managed mechanism.
  returned: always
  type: list
  elements: dict
  contains:
    mechanism:
      description: V(selinux), V(fapolicyd) or V(apparmor).
      type: str
    ok_before:
      description: Whether the mechanism was already in the wanted state.
      type: bool
    detail:
      description: What was found.
      type: str
    refused:
      description: Why something needed was not done (for example a profile that does not include its override).
      type: list
      elements: str
    actions:
      description: The planned actions with C(done) (true when executed), C(allowed) and C(reason).
      type: list
      elements: dict
backup_files:
  description: Backups of the files rewritten or removed.
  returned: always
  type: list
  elements: str
finding:
  description: The UserErrorVmNotInDesirableState finding for the state found before the run (the plan); the same as
    the scan reports.
  returned: always
  type: dict
  contains:
    error_code:
      description: V(UserErrorVmNotInDesirableState).
      type: str
    status:
      description: V(pass), V(fail), V(not_applicable) or V(error).
      type: str
    detail:
      description: Why, human readable; names the VMSnapshotLinux extension's presence.
      type: str
    fix:
      description: What the fix changes or why it will not; empty when nothing.
      type: str
    actions:
      description: The actions, with C(allowed) and C(disruptive).
      type: list
      elements: dict
finding_after:
  description: The finding for the state after the run (in check mode, the same as RV(finding)).
  returned: always
  type: dict
vmsnapshot_extension:
  description: The backup extension's handler directories under C(/var/lib/waagent).
  returned: always
  type: dict
  sample:
    present: true
    versions: [1.0.9188.0]
    dirs: [/var/lib/waagent/Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9188.0]
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vmbackup.azure.plugins.module_utils._linux_host import C_LOCALE
from ansible_collections.vmbackup.azure.plugins.module_utils._secpolicy import (
    FAPOLICYD_DIR,
    MECHANISMS,
    SELINUX_SPEC,
    OptionError,
    check_options,
    compile_fapolicyd_rules,
    evaluate_secpolicy,
    fapolicyd_rule_text,
    gather_secpolicy,
    gather_snapshot_extension,
    plan_secpolicy,
    strip_apparmor_block,
    with_apparmor_block,
)


class StepError(Exception):
    pass


class WaagentSecurityPolicy:
    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.backups = []
        self.done = []

    # -- helpers ----------------------------------------------------------------------------
    def run(self, argv: list, what: str) -> str:
        rc, out, err = self.module.run_command(argv, environ_update=C_LOCALE)
        if rc != 0:
            raise StepError(f"{what}: {' '.join(argv)} failed (rc {rc}): {(err or out).strip()}")
        return out

    def bin(self, name: str) -> str:
        path = self.module.get_bin_path(name, opt_dirs=["/usr/sbin", "/sbin"])
        if not path:
            raise StepError(f"{name} not found on the host")
        return path

    def backup(self, path: str) -> None:
        if os.path.exists(path):
            self.backups.append(self.module.backup_local(path))

    def write(self, path: str, text: str, mode: int = 0o644) -> None:
        directory = os.path.dirname(path)
        tmp = os.path.join(directory, f".{os.path.basename(path)}.vmbackup.tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        self.module.atomic_move(tmp, path)

    # -- steps ------------------------------------------------------------------------------
    def selinux_fcontext(self, act: dict) -> None:
        semanage = self.bin("semanage")
        flag = {"add": "-a", "modify": "-m", "delete": "-d"}[act["operation"]]
        argv = [semanage, "fcontext", flag]
        if act["operation"] != "delete":
            argv += ["-t", act["setype"]]
        self.run(argv + [act["spec"]], "SELinux file-context rule")

    def selinux_relabel(self, act: dict, facts: dict) -> None:
        paths = [p for p in act["paths"] if os.path.lexists(p)]
        if not paths:
            return
        if act["tool"] == "restorecon":
            self.run([self.bin("restorecon"), "-R"] + paths, "SELinux relabel")
        else:
            self.run([self.bin("setfiles"), facts["file_contexts"]] + paths, "SELinux relabel")

    def fapolicyd_rule(self, act: dict) -> None:
        path = act["path"]
        if act["operation"] == "write":
            if act.get("backup"):
                self.backup(path)
            self.write(path, fapolicyd_rule_text())
        else:
            if act.get("backup"):
                self.backup(path)
            if os.path.lexists(path):
                os.remove(path)

    def fapolicyd_compile(self, load: bool) -> None:
        argv = [self.bin("fagenrules")] + (["--load"] if load else [])
        self.run(argv, "fapolicyd rules")

    def apparmor_local(self, act: dict) -> None:
        path, profile = act["path"], act["profile"]
        before = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                before = handle.read()
        if act["operation"] == "write":
            after = with_apparmor_block(before)
        else:
            after, dummy = strip_apparmor_block(before)
        if before is not None:
            self.backup(path)
        if act["operation"] == "remove" and not after.strip():
            os.remove(path)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            self.write(path, after)
        parser = self.module.get_bin_path("apparmor_parser", opt_dirs=["/usr/sbin", "/sbin"])
        if not parser:
            return
        rc, out, err = self.module.run_command([parser, "-Q", "-K", "-T", profile], environ_update=C_LOCALE)
        if rc != 0:
            if before is None:
                if os.path.exists(path):
                    os.remove(path)
            else:
                self.write(path, before)
            raise StepError(
                f"AppArmor: {profile} does not parse with the changed {path} (rc {rc}): {(err or out).strip()}; "
                f"{path} was restored"
            )

    def apparmor_reload(self, act: dict) -> None:
        self.run([self.bin("apparmor_parser"), "-r", act["profile"]], "AppArmor reload")

    # -- main -------------------------------------------------------------------------------
    def gather(self) -> dict:
        return gather_secpolicy("/")

    def diff(self, facts: dict, plan: dict) -> list:
        diffs = []
        for mech in plan["mechanisms"]:
            name = mech["mechanism"]
            todo = [a for a in mech["actions"] if a["allowed"]]
            if not todo:
                continue
            if name == "selinux":
                sel = facts["selinux"]
                ours = [
                    f"{e['spec']}  {e['context']}" for e in sel.get("local_entries") or [] if e["spec"] == SELINUX_SPEC
                ]
                after = list(ours)
                for a in todo:
                    if a["action"] == "selinux_fcontext":
                        after = (
                            []
                            if a["operation"] == "delete"
                            else [f"{SELINUX_SPEC}  system_u:object_r:{a['setype']}:s0"]
                        )
                labels = sel.get("labels") or {}
                types = labels.get("types") or {}
                before_labels = ", ".join(f"{n} {t}" for t, n in sorted(types.items()))
                relabel = [a for a in todo if a["action"] == "selinux_relabel"]
                if relabel and plan["options"]["state"] == "present":
                    after_labels = f"{labels.get('files', 0)} {plan['options']['selinux_setype']}"
                elif relabel:
                    after_labels = "policy defaults (var_lib_t) for " + ", ".join(relabel[0]["paths"])
                else:
                    after_labels = before_labels
                diffs.append(
                    {
                        "before_header": f"SELinux local file contexts ({sel.get('local_file')})",
                        "after_header": f"SELinux local file contexts ({sel.get('local_file')})",
                        "before": "\n".join(ours) + ("\n" if ours else ""),
                        "after": "\n".join(after) + ("\n" if after else ""),
                    }
                )
                diffs.append(
                    {
                        "before_header": "SELinux labels of the extension handler directories",
                        "after_header": "SELinux labels of the extension handler directories",
                        "before": before_labels + "\n",
                        "after": after_labels + "\n",
                    }
                )
            elif name == "fapolicyd":
                fa = facts["fapolicyd"]
                path = plan["options"]["fapolicyd_rule_file"]
                rules_d = dict(fa.get("rules_d") or {})
                before = rules_d.get(os.path.basename(path))
                for a in todo:
                    if a["action"] == "fapolicyd_rule":
                        after = fapolicyd_rule_text() if a["operation"] == "write" else None
                        diffs.append(
                            {
                                "before_header": path if before is not None else f"{path} (absent)",
                                "after_header": path if after is not None else f"{path} (absent)",
                                "before": before or "",
                                "after": after or "",
                            }
                        )
                        if after is None:
                            rules_d.pop(os.path.basename(path), None)
                        else:
                            rules_d[os.path.basename(path)] = after
                if any(a["action"] == "fapolicyd_compile" for a in todo):
                    compiled = fa.get("compiled") or []
                    diffs.append(
                        {
                            "before_header": f"{FAPOLICYD_DIR}/compiled.rules",
                            "after_header": f"{FAPOLICYD_DIR}/compiled.rules",
                            "before": "".join(line + "\n" for line in compiled),
                            "after": "".join(line + "\n" for line in compile_fapolicyd_rules(rules_d)),
                        }
                    )
            elif name == "apparmor":
                for a in todo:
                    if a["action"] != "apparmor_local":
                        continue
                    prof = next(p for p in facts["apparmor"]["waagent_profiles"] if p["local_file"] == a["path"])
                    before = prof.get("local_content")
                    if a["operation"] == "write":
                        after = with_apparmor_block(before)
                    else:
                        after = strip_apparmor_block(before)[0]
                    diffs.append(
                        {
                            "before_header": a["path"] if before is not None else f"{a['path']} (absent)",
                            "after_header": a["path"],
                            "before": before or "",
                            "after": after,
                        }
                    )
        return diffs

    def require_tools(self, facts: dict, opts: dict) -> None:
        """Named mechanisms must be installed: fail before any change, naming the option."""
        if opts["mechanisms"] == ["auto"]:
            return
        missing = []
        for mech in opts["mechanisms"]:
            f = facts.get(mech) or {}
            if f.get("error"):
                missing.append(f"{mech} (facts unreadable: {f['error']})")
            elif mech == "selinux" and not (f.get("semanage") and f.get("policy_installed")):
                missing.append("selinux (needs semanage and an installed policy named by /etc/selinux/config)")
            elif mech == "fapolicyd" and not (f.get("installed") or f.get("rules_d") is not None):
                missing.append("fapolicyd (not installed)")
            elif mech == "apparmor" and not f.get("installed"):
                missing.append("apparmor (apparmor_parser not installed)")
        if missing:
            self.module.fail_json(msg="mechanisms: requested but not usable on this host: " + "; ".join(missing))

    def main(self) -> None:
        module = self.module
        params = {
            k: module.params[k]
            for k in ("state", "mechanisms", "reload", "selinux_setype", "fapolicyd_rule_file", "exclude_agent")
        }
        try:
            opts = check_options(params)
        except OptionError as exc:
            module.fail_json(msg=str(exc))
        facts = self.gather()
        snapshot = gather_snapshot_extension("/")
        self.require_tools(facts, opts)
        plan = plan_secpolicy(facts, opts)
        finding = evaluate_secpolicy({"security_policy": facts, "vmsnapshot_extension": snapshot}, opts)

        results = []
        for mech in plan["mechanisms"]:
            results.append(
                {
                    "mechanism": mech["mechanism"],
                    "ok_before": mech["ok"],
                    "detail": mech["detail"],
                    "refused": mech["refused"],
                    "actions": [dict(a, done=False) for a in mech["actions"]],
                }
            )
            for reason in mech["refused"]:
                module.warn(f"UserErrorVmNotInDesirableState: {mech['mechanism']}: {reason}")
        todo = [a for r in results for a in r["actions"] if a["allowed"]]
        changed = bool(todo)
        failure = None
        if changed and not module.check_mode:
            try:
                for res in results:
                    actions = res["actions"]
                    for act in actions:
                        if not act["allowed"]:
                            continue
                        kind = act["action"]
                        if kind == "selinux_fcontext":
                            self.selinux_fcontext(act)
                        elif kind == "selinux_relabel":
                            self.selinux_relabel(act, facts["selinux"])
                        elif kind == "fapolicyd_rule":
                            self.fapolicyd_rule(act)
                        elif kind == "fapolicyd_compile":
                            load = any(a["action"] == "fapolicyd_reload" and a["allowed"] for a in actions)
                            self.fapolicyd_compile(load)
                        elif kind == "fapolicyd_reload":
                            pass  # done by fagenrules --load above
                        elif kind == "apparmor_local":
                            self.apparmor_local(act)
                        elif kind == "apparmor_reload":
                            self.apparmor_reload(act)
                        act["done"] = True
            except (StepError, OSError) as exc:
                failure = str(exc)
        if module.check_mode or not changed:
            finding_after = finding
        else:
            after = self.gather()
            finding_after = evaluate_secpolicy({"security_policy": after, "vmsnapshot_extension": snapshot}, opts)
        result = {
            "changed": changed and (module.check_mode or any(a["done"] for r in results for a in r["actions"])),
            "mechanisms": results,
            "backup_files": self.backups,
            "finding": finding,
            "finding_after": finding_after,
            "vmsnapshot_extension": snapshot,
        }
        if module._diff:
            result["diff"] = self.diff(facts, plan)
        if failure:
            done = [f"{a['mechanism']}: {a['action']}" for r in results for a in r["actions"] if a["done"]]
            module.fail_json(
                msg=f"UserErrorVmNotInDesirableState: {failure}. Already done: {', '.join(done) or 'nothing'}.",
                **result,
            )
        module.exit_json(**result)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent"], default="present"),
            mechanisms=dict(type="list", elements="str", choices=["auto", *MECHANISMS], default=["auto"]),
            reload=dict(type="bool", default=False),
            exclude_agent=dict(type="bool", default=False),
            selinux_setype=dict(type="str", default="bin_t"),
            fapolicyd_rule_file=dict(type="path", default="/etc/fapolicyd/rules.d/40-vmbackup-waagent.rules"),
        ),
        supports_check_mode=True,
    )
    WaagentSecurityPolicy(module).main()


if __name__ == "__main__":
    main()
