"""The terminal table lines up by display width, in zh-TW too.

Each column must start at the same terminal column on every row, whatever the host names and texts
hold: CJK (two columns each), combining accents and zero-width characters (none) -- localized
vssadmin output and host names carry all three.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from ansible_collections.vmbackup.azure.plugins.plugin_utils._report import build_report, table


def display_width(text):
    """What a terminal shows (wcwidth semantics), written here independently of the code under test."""
    width = 0
    for ch in text:
        if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def finding(code, status):
    return {"error_code": code, "status": status, "detail": "d", "fix": "", "actions": []}


HOSTS = {
    "win-sql-tw": {"os_family": "windows", "findings": [finding("ExtensionFailedVssWriterInBadState", "fail")]},
    "主機-台北-01": {"os_family": "windows", "findings": [finding("ExtensionFailedVssWriterInBadState", "pass")]},
    "se\u0301rveur-e\u0301te\u0301": {"os_family": "windows", "findings": []},  # decomposed accents
    "web\u200b01": {"os_family": "linux", "findings": []},  # a zero-width space
    "lnx": {"unreachable": True, "msg": "ssh 連線失敗"},
}


@pytest.mark.parametrize("language", ["en", "zh-TW"])
def test_columns_start_at_the_same_display_column_on_every_row(language):
    report = build_report(list(HOSTS), HOSTS, language=language)
    lines = table(report)
    header, rows = lines[0], lines[2:-2]
    assert len(rows) == len(HOSTS)

    for row in [header, *rows]:
        # host, OS and result hold no space: the fields are the runs between the padding
        fields = re.split(r"( +)", row, maxsplit=5)
        starts = [display_width("".join(fields[:n])) for n in (2, 4, 6) if len(fields) > n]
        assert starts == [25, 34, 43][: len(starts)] and len(starts) >= 2, (row, starts)
        assert display_width(row) <= 100
