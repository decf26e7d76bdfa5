# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fixed texts of the reports (HTML page, JUnit messages, terminal table) in every language.

The one place translations live. A finding's ``detail`` and ``fix`` are written by the evaluators
in English and are shown as they are, in every language.
Add a language: add a dict with the same keys (``tests/unit/plugins/plugin_utils/test_junit_html.py``
checks every language has every key and the same ``{placeholders}``) and its doc link in ``doc_url``.
"""

from __future__ import annotations

from ansible_collections.vmbackup.azure.plugins.module_utils._catalog import lookup

LANGUAGES = ("en", "zh-TW")
DEFAULT = "en"

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title.scan": "Azure VM backup readiness — scan",
        "title.remediate": "Azure VM backup readiness — remediation",
        "title.triage": "Azure VM backup readiness — triage",
        "generated": "Generated {when} by {generator}",
        "check_mode": "check mode: nothing was changed",
        "summary": "Fleet summary",
        "hosts": "Hosts",
        "hosts_failing": "Would fail backup",
        "hosts_with_errors": "Not fully checked",
        "hosts_changed": "Changed",
        "waived": "Waived",
        "fleet": "Hosts at a glance",
        "host": "Host",
        "os": "OS",
        "result": "Result",
        "codes": "Error codes",
        "findings": "Findings",
        "status.fail": "fail",
        "status.error": "error",
        "status.pass": "pass",
        "status.not_applicable": "not applicable",
        "status.waived": "waived",
        "result.ok": "ok",
        "result.fail": "FAIL",
        "result.error": "ERROR",
        "result.unreachable": "UNREACHABLE",
        "result.changed": "CHANGED",
        "unreachable": "Unreachable: {error}",
        "host_error": "Could not be checked: {error}",
        "could_not_check": "could not check: {codes}",
        "detail": "Why",
        "fix": "What the fix would change",
        "fix.remediate": "What the fix changed",
        "fix.none": "nothing to change",
        "changed": "changed on this run",
        "actions": "Planned actions",
        "action.allowed": "allowed",
        "action.not_allowed": "needs opt-in",
        "action.disruptive": "disruptive",
        "waiver": "Waived: {reason}",
        "waiver.until": "until {until}",
        "waiver.expired": "Waiver expired on {until} (no longer applies): {reason}",
        "disabled": "Switched off: {codes}",
        "doc": "Microsoft documentation",
        "no_findings": "No findings.",
        "passing": "{count} check(s) passed",
        "na": "{count} not applicable",
        "footer": "Finding texts (why / what would change) are written by the checks in English.",
        "table.detail": "DETAIL",
        "table.summary": "{hosts} hosts, {failing} would fail backup, {errors} could not be fully checked",
        "table.waived": ", {waived} finding(s) waived",
        "table.report": "report: {path}",
        "junit.unreachable": "host unreachable",
        "junit.host_error": "host could not be checked",
        "junit.disabled": "switched off for this host",
        "junit.waived": "waived: {reason}",
    },
    "zh-TW": {
        "title.scan": "Azure VM 備份就緒檢查 — 掃描",
        "title.remediate": "Azure VM 備份就緒檢查 — 修復",
        "title.triage": "Azure VM 備份就緒檢查 — 錯誤分析",
        "generated": "{generator} 產生於 {when}",
        "check_mode": "檢查模式：未做任何變更",
        "summary": "整體摘要",
        "hosts": "主機",
        "hosts_failing": "備份會失敗",
        "hosts_with_errors": "未能完整檢查",
        "hosts_changed": "已變更",
        "waived": "已豁免",
        "fleet": "主機總覽",
        "host": "主機",
        "os": "作業系統",
        "result": "結果",
        "codes": "錯誤碼",
        "findings": "檢查結果",
        "status.fail": "失敗",
        "status.error": "錯誤",
        "status.pass": "通過",
        "status.not_applicable": "不適用",
        "status.waived": "已豁免",
        "result.ok": "正常",
        "result.fail": "失敗",
        "result.error": "錯誤",
        "result.unreachable": "無法連線",
        "result.changed": "已變更",
        "unreachable": "無法連線：{error}",
        "host_error": "無法檢查：{error}",
        "could_not_check": "無法檢查：{codes}",
        "detail": "原因",
        "fix": "修復將變更的內容",
        "fix.remediate": "修復已變更的內容",
        "fix.none": "無需變更",
        "changed": "本次執行已變更",
        "actions": "預定動作",
        "action.allowed": "已允許",
        "action.not_allowed": "需明確啟用",
        "action.disruptive": "會中斷服務",
        "waiver": "已豁免：{reason}",
        "waiver.until": "至 {until} 為止",
        "waiver.expired": "豁免已於 {until} 到期（不再適用）：{reason}",
        "disabled": "已關閉的檢查：{codes}",
        "doc": "Microsoft 文件",
        "no_findings": "沒有檢查結果。",
        "passing": "{count} 項檢查通過",
        "na": "{count} 項不適用",
        "footer": "檢查結果的說明（原因／將變更的內容）由檢查程式以英文產生。",
        "table.detail": "說明",
        "table.summary": "共 {hosts} 台主機，{failing} 台備份會失敗，{errors} 台未能完整檢查",
        "table.waived": "，{waived} 項已豁免",
        "table.report": "報告：{path}",
        "junit.unreachable": "無法連線到主機",
        "junit.host_error": "無法檢查主機",
        "junit.disabled": "此主機已關閉此檢查",
        "junit.waived": "已豁免：{reason}",
    },
}


def language(value) -> str:
    """Normalize a language name (``en``, ``zh-TW``, ``zh_tw``...); raises ValueError naming the valid ones."""
    text = str(value or DEFAULT).strip().replace("_", "-")
    for lang in LANGUAGES:
        if text.lower() == lang.lower():
            return lang
    raise ValueError(f"unknown report language {value!r}; valid: {', '.join(LANGUAGES)}")


def t(lang: str, key: str, **values) -> str:
    """The text ``key`` in ``lang`` (English when missing), formatted with ``values``."""
    text = STRINGS.get(lang, STRINGS[DEFAULT]).get(key) or STRINGS[DEFAULT][key]
    return text.format(**values) if values else text


def doc_url(code: str, lang: str, fallback: str = "") -> str:
    """The Microsoft troubleshooting page for ``code`` in ``lang`` (``fallback`` for codes the catalog lacks)."""
    try:
        entry = lookup(code)
    except KeyError:
        return fallback
    return entry.doc_url_zh_tw if lang == "zh-TW" else entry.doc_url


def title(code: str) -> str:
    """The catalog's one-line title of ``code`` (English; empty for unknown codes)."""
    try:
        return lookup(code).title
    except KeyError:
        return ""
