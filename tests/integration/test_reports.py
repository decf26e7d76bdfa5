"""Reports people and CI read, from real playbook runs on simulated Windows hosts and an unreachable Linux host.

- scan.yml writes the JSON report (schema 2), JUnit XML (junitparser reads it) and the HTML page into one
  directory; the page renders in headless Chromium (the screenshot is not blank) and names every host;
- a waiver set as a host variable shows in every format with its reason; a switched-off code is absent
  from the host's findings and listed as switched off;
- remediate.yml writes its report too: what each host's roles found and changed, the waived host checked
  only (the simulator log shows no change made), the unreachable host reported as such.
"""

from __future__ import annotations

import html.parser
import json
import os
import shutil
import struct
import subprocess
import zlib

import junitparser
import pytest
import yaml
from conftest import STATES, read_report, run_playbook

VSS = "ExtensionFailedVssWriterInBadState"
FS = "UserErrorFsFreezeFailed"
WAIVER_REASON = "SQL <b>change window</b> on Sundays (CHG-1234)"
FLEET = {
    "win-tw": ("vss_system_writer_timeout_zh-TW.yml", {}),
    "win-ok": ("healthy.yml", {}),
    "win-de": (
        "vss_multi_failed_de-DE.yml",
        {"vmbackup_waivers": [{"code": VSS, "reason": WAIVER_REASON, "until": "2099-12-31"}]},
    ),
    "win-fr": ("vss_stuck_fr-FR.yml", {"vmbackup_disable_extension_failed_vss_writer_in_bad_state": True}),
}
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,2000",
]


def make_fleet(workdir):
    """Simulated Windows hosts (one waived, one with VSS switched off) and one unreachable Linux host."""
    hosts = {}
    for name, (template, host_vars) in FLEET.items():
        state = workdir / f"{name}.yml"
        shutil.copyfile(os.path.join(STATES, template), state)
        hosts[name] = {"vmbackup_winsim_state": str(state), **host_vars}
    inventory = {
        "all": {
            "children": {
                "windows": {"hosts": hosts, "vars": {"ansible_connection": "vmbackup.azure.winsim"}},
                "linux": {
                    "hosts": {
                        "lnx-gone": {"ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_ssh_timeout": 3},
                    }
                },
            }
        }
    }
    path = workdir / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    return path


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    """One scan.yml run writing every format into one directory."""
    workdir = tmp_path_factory.mktemp("reports-scan")
    inventory = make_fleet(workdir)
    outdir = workdir / "out"
    proc = run_playbook(inventory, "playbooks/scan.yml", extra_vars={"vmbackup_report_dir": str(outdir)})
    return proc, outdir


@pytest.fixture(scope="module")
def remediate(tmp_path_factory):
    """One remediate.yml run with the VSS restart opted in, report in Traditional Chinese."""
    workdir = tmp_path_factory.mktemp("reports-remediate")
    inventory = make_fleet(workdir)
    outdir = workdir / "out"
    proc = run_playbook(
        inventory,
        "playbooks/remediate.yml",
        extra_vars={
            "vmbackup_error_codes": [VSS, FS],  # one Windows fix and one Linux fix (for the unreachable host)
            "extension_failed_vss_writer_in_bad_state_restart": True,
            "vmbackup_report_dir": str(outdir),
            "vmbackup_report_language": "zh-TW",
        },
    )
    return proc, outdir, workdir


def by_host(report):
    return {h["host"]: h for h in report["hosts"]}


def code_finding(host, code):
    return next((f for f in host["findings"] if f["error_code"] == code), None)


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.text = []
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def parse_html(path):
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page, "".join(page.text)


def test_scan_writes_json_junit_and_html_into_one_directory(scan):
    proc, outdir = scan
    # the unreachable host is an error: the default vmbackup_fail_on=error ends the run non-zero, after the report
    assert proc.returncode == 2 and "vmbackup_fail_on=error: 1 host(s) unreachable" in proc.stdout, proc.stdout[-3000:]
    assert sorted(os.listdir(outdir)) == ["vmbackup-scan.html", "vmbackup-scan.json", "vmbackup-scan.junit.xml"]
    hosts = by_host(read_report(outdir / "vmbackup-scan.json"))
    assert set(hosts) == set(FLEET) | {"lnx-gone"}
    assert hosts["lnx-gone"]["reachable"] is False
    assert code_finding(hosts["win-tw"], VSS)["status"] == "fail"

    xml = junitparser.JUnitXml.fromfile(str(outdir / "vmbackup-scan.junit.xml"))
    cases = {(suite.name, case.name): case for suite in xml for case in suite}
    assert {suite.name for suite in xml} == set(hosts)
    assert [type(r).__name__ for r in cases[("win-tw", VSS)].result] == ["Failure"]
    assert [type(r).__name__ for r in cases[("lnx-gone", "lnx-gone")].result] == ["Error"]

    page, text = parse_html(outdir / "vmbackup-scan.html")
    for host in hosts:
        assert host in text
    assert "script" not in page.tags

    # The terminal table and every file's path end the play; AWX gets the summary from set_stats.
    assert "would fail backup" in proc.stdout and "vmbackup-scan.junit.xml" in proc.stdout


def test_waiver_shows_with_its_reason_and_switched_off_code_is_absent(scan):
    dummy, outdir = scan
    report = read_report(outdir / "vmbackup-scan.json")
    hosts = by_host(report)
    waived = code_finding(hosts["win-de"], VSS)
    assert waived["status"] == "fail" and waived["waiver"] == {
        "reason": WAIVER_REASON,
        "until": "2099-12-31",
        "active": True,
    }
    assert report["summary"]["waived"] == 1
    assert code_finding(hosts["win-fr"], VSS) is None
    assert hosts["win-fr"]["disabled"] == [VSS]
    # win-tw fails, win-de is waived, win-fr's failing check is switched off.
    assert report["summary"]["hosts_failing"] == 1

    xml = junitparser.JUnitXml.fromfile(str(outdir / "vmbackup-scan.junit.xml"))
    cases = {(suite.name, case.name): case for suite in xml for case in suite}
    assert WAIVER_REASON in cases[("win-de", VSS)].result[0].message
    assert [type(r).__name__ for r in cases[("win-fr", VSS)].result] == ["Skipped"]

    raw = (outdir / "vmbackup-scan.html").read_text(encoding="utf-8")
    dummy, text = parse_html(outdir / "vmbackup-scan.html")
    assert WAIVER_REASON in text and "<b>change window</b>" not in raw


def png_pixels(path):
    """Decode an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes): (width, height, rows of bytes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, dummy, dummy, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color in (2, 6) and interlace == 0
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    bpp = 4 if color == 6 else 3
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - bpp] if x >= bpp else 0
            up, corner = prev[x], prev[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[x] = (line[x] + pred) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def test_html_page_renders_in_headless_chromium(scan, tmp_path):
    dummy, outdir = scan
    shot = tmp_path / "report.png"
    proc = subprocess.run(
        [
            "chromium",
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            (outdir / "vmbackup-scan.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    width, height, bpp, rows = png_pixels(shot)
    assert (width, height) == (1280, 2000)
    # Not blank: many colours, and a good share of the top of the page differs from the background.
    sample = rows[:1200:4]
    colours = {row[x : x + 3] for row in sample for x in range(0, width * bpp, bpp * 4)}
    background = rows[5][:3]
    inked = sum(row[x : x + 3] != background for row in sample for x in range(0, width * bpp, bpp * 4))
    assert len(colours) > 50, len(colours)
    assert inked / (len(sample) * width / 4) > 0.05


def test_remediate_reports_what_each_host_found_and_changed(remediate):
    proc, outdir, workdir = remediate
    # the unreachable host is an error: the default vmbackup_fail_on=error ends the run non-zero, after the report
    assert proc.returncode == 2 and "vmbackup_fail_on=error: 1 host(s) unreachable" in proc.stdout, proc.stdout[-3000:]
    report = read_report(outdir / "vmbackup-remediate.json")
    assert report["mode"] == "remediate" and report["language"] == "zh-TW" and report["check_mode"] is False
    hosts = by_host(report)
    assert set(hosts) == set(FLEET) | {"lnx-gone"}

    fixed = code_finding(hosts["win-tw"], VSS)
    assert fixed["status"] == "fail" and fixed["changed"] is True and "CryptSvc" in fixed["fix"]
    assert fixed["doc_url"].startswith("https://learn.microsoft.com/zh-tw/")
    assert code_finding(hosts["win-ok"], VSS) == {**code_finding(hosts["win-ok"], VSS), "status": "pass"}

    waived = code_finding(hosts["win-de"], VSS)
    assert waived["waiver"]["reason"] == WAIVER_REASON and waived["changed"] is False
    with open(workdir / "win-de.yml.log.jsonl", encoding="utf-8") as handle:
        log = [json.loads(line) for line in handle]
    assert not [e for e in log if e["module"].endswith("win_service") and not e["check_mode"]], "a waived fix ran"

    assert code_finding(hosts["win-fr"], VSS) is None and hosts["win-fr"]["disabled"] == [VSS]
    assert hosts["lnx-gone"]["reachable"] is False and "127.0.0.1" in hosts["lnx-gone"]["error"]
    assert report["summary"]["hosts_changed"] >= 1

    assert (outdir / "vmbackup-remediate.junit.xml").exists()
    dummy, text = parse_html(outdir / "vmbackup-remediate.html")
    assert "修復已變更的內容" in text and all(host in text for host in hosts)
    # The play goes on past the unreachable host and prints the table in the chosen language.
    assert "共 5 台主機" in proc.stdout
