# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``vssadmin list writers`` as the simulated host's console prints it, in its locale.

The TRANSLATIONS BELOW ARE OUR APPROXIMATIONS, not copied from localized Windows builds: the
point is that labels, state words and error words differ per language, that French puts a
space before the colon, that zh-TW uses a full-width colon (``：``), that French labels contain
apostrophes (``l'enregistreur``) before the quoted writer name. Consumers must parse on
structure (the quoted name, the two braced GUIDs, the ``[n]`` number; field-notes section 3),
never on these words. Writer names and GUIDs are never localized.

The two-line banner and the "Waiting for responses" line are localized too (also our
approximation); the copyright line is the same everywhere. Lines end with CRLF as on the console.
"""

from __future__ import annotations

# fields: banner, waiting, name, id, instance, state, error, state words (unknown, stable,
# waiting, failed), error words (by canonical English), sep (what goes between label and value)
LOCALES = {
    "en-US": {
        "banner": "vssadmin 1.1 - Volume Shadow Copy Service administrative command-line tool",
        "waiting": "Waiting for responses. These may be delayed if a shadow copy is being prepared.",
        "labels": ("Writer name", "Writer Id", "Writer Instance Id", "State", "Last error"),
        "states": ("Unknown", "Stable", "Waiting for completion", "Failed"),
        "errors": {},
        "sep": ": ",
        "down": "Error: A Volume Shadow Copy Service component encountered an unexpected error.\r\n"
        "Check the Application event log for more information.",
    },
    "de-DE": {
        "banner": "vssadmin 1.1 - Verwaltungsbefehlszeilenprogramm des Volumeschattenkopie-Dienstes",
        "waiting": "Warten auf Antworten. Dieser Vorgang kann einige Zeit dauern, wenn gerade eine Schattenkopie "
        "vorbereitet wird.",
        "labels": ("Verfassername", "Verfasserkennung", "Verfasserinstanzkennung", "Status", "Letzter Fehler"),
        "states": ("Unbekannt", "Stabil", "Warten auf Abschluss", "Fehler"),
        "errors": {
            "No error": "Kein Fehler",
            "Retryable error": "Wiederholbarer Fehler",
            "Non-retryable error": "Nicht wiederholbarer Fehler",
            "Not responding": "Reagiert nicht",
            "Timed out": "Zeitüberschreitung",
        },
        "sep": ": ",
        "down": "Fehler: Unerwarteter Fehler einer Volumeschattenkopie-Dienstkomponente.\r\n"
        "Weitere Informationen finden Sie im Anwendungsereignisprotokoll.",
    },
    "fr-FR": {
        "banner": "vssadmin 1.1 - Outil de ligne de commande d'administration du service de cliché instantané "
        "des volumes",
        "waiting": "Attente des réponses. Elles peuvent être retardées si un cliché instantané est en cours de "
        "préparation.",
        "labels": (
            "Nom de l'enregistreur",
            "Id de l'enregistreur",
            "Id de l'instance de l'enregistreur",
            "État",
            "Dernière erreur",
        ),
        "states": ("Inconnu", "Stable", "En attente d'achèvement", "Échec"),
        "errors": {
            "No error": "Aucune erreur",
            "Retryable error": "Erreur pouvant être retentée",
            "Non-retryable error": "Erreur ne pouvant pas être retentée",
            "Not responding": "Ne répond pas",
            "Timed out": "Délai d'attente dépassé",
        },
        "sep": " : ",
        "down": "Erreur : un composant du service de cliché instantané des volumes a rencontré une erreur "
        "inattendue.\r\nPour plus d'informations, consultez le journal des événements Application.",
    },
    "zh-TW": {
        "banner": "vssadmin 1.1 - 磁碟區陰影複製服務系統管理命令列工具",
        "waiting": "正在等待回應。如果正在準備陰影複製，這些回應可能會延遲。",
        "labels": ("寫入程式名稱", "寫入程式識別碼", "寫入程式執行個體識別碼", "狀態", "上次錯誤"),
        "states": ("未知", "穩定", "正在等待完成", "失敗"),
        "errors": {
            "No error": "沒有錯誤",
            "Retryable error": "可重試的錯誤",
            "Non-retryable error": "不可重試的錯誤",
            "Not responding": "沒有回應",
            "Timed out": "逾時",
        },
        "sep": "：",
        "down": "錯誤：磁碟區陰影複製服務元件發生未預期的錯誤。\r\n請檢查應用程式事件記錄檔以取得詳細資訊。",
    },
    "ja-JP": {
        "banner": "vssadmin 1.1 - ボリューム シャドウ コピー サービス管理コマンドライン ツール",
        "waiting": "応答を待っています。シャドウ コピーの準備中の場合、遅れる可能性があります。",
        "labels": ("ライター名", "ライター ID", "ライター インスタンス ID", "状態", "最後のエラー"),
        "states": ("不明", "安定", "完了の待機中", "失敗"),
        "errors": {
            "No error": "エラーなし",
            "Retryable error": "再試行可能なエラー",
            "Non-retryable error": "再試行不可能なエラー",
            "Not responding": "応答なし",
            "Timed out": "タイムアウト",
        },
        "sep": ": ",
        "down": "エラー: ボリューム シャドウ コピー サービス コンポーネントで予期しないエラーが発生しました。\r\n"
        "詳細については、アプリケーション イベント ログを確認してください。",
    },
}
COPYRIGHT = "(C) Copyright 2001-2013 Microsoft Corp."
# Assumption: vssadmin exits with 2 when it cannot reach VSS (any non-zero would do for consumers).
RC_SERVICE_DOWN = 2


def _locale(name: str) -> dict:
    """Exact match, then same language (zh-HK -> zh-TW is not attempted: en-US fallback)."""
    if name in LOCALES:
        return LOCALES[name]
    lang = (name or "").split("-", maxsplit=1)[0].lower()
    for key, value in LOCALES.items():
        if key.split("-", maxsplit=1)[0] == lang and lang != "zh":
            return value
    return LOCALES["en-US"]


def state_word(loc: dict, state: int) -> str:
    unknown, stable, waiting, failed = loc["states"]
    if state == 1:
        return stable
    if 2 <= state <= 5:
        return waiting
    if 6 <= state <= 15:
        return failed
    return unknown


def guid(value) -> str:
    s = str(value).strip().strip("{}").lower()
    return "{" + s + "}"


def render(writers: list[dict], locale: str, service_down: bool = False) -> tuple[int, str]:
    """``(rc, stdout)`` of ``vssadmin list writers`` for these (already visible) writers."""
    loc = _locale(locale)
    sep = loc["sep"]
    lines = [loc["banner"], COPYRIGHT, ""]
    if service_down:
        lines.append(loc["down"])
        lines.append("")
        return RC_SERVICE_DOWN, "\r\n".join(lines)
    lines += [loc["waiting"], ""]
    name_l, id_l, inst_l, state_l, err_l = loc["labels"]
    for w in writers:
        state = int(w.get("state", 1))
        err = str(w.get("last_error", "No error"))
        lines += [
            f"{name_l}{sep}'{w['name']}'",
            f"   {id_l}{sep}{guid(w['writer_id'])}",
            f"   {inst_l}{sep}{guid(w['instance_id'])}",
            f"   {state_l}{sep}[{state}] {state_word(loc, state)}",
            f"   {err_l}{sep}{loc['errors'].get(err, err)}",
            "",
        ]
    return 0, "\r\n".join(lines) + "\r\n"
