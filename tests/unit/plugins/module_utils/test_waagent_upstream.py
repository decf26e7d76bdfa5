"""waagent.conf: our reader and editor against the agent's own loader.

The agent is Debian's ``waagent`` package (WALinuxAgent), downloaded and unpacked (never installed)
under build/upstream/ by tools/linux_upstream.py; ``azurelinuxagent.common.conf.ConfigurationProvider``
is the code that reads /etc/waagent.conf on a real VM. Hypothesis generates waagent.conf texts out of
the characters that matter (``#``, ``=``, quotes, blanks, CR, form feed, U+2028, y/n in any case,
``None``) and every form must read the same, line by line, in both; what ``set_conf_value`` writes
must read as ``Extensions.Enabled=y`` to the agent and leave every other line as it was.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import linux_upstream  # noqa: E402
from ansible_collections.vmbackup.azure.plugins.module_utils._linux_agent import (  # noqa: E402
    conf_disabled,
    gather_agent,
    parse_waagent_conf,
    set_conf_value,
)

KEY = "Extensions.Enabled"


# Runs in a Python that can import the agent (linux_upstream.agent_python: Debian's own python3 first, the
# interpreter the package is built for; its textutil imports ``crypt``, gone from Python 3.13): one process,
# one JSON request per line.
DRIVER = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from azurelinuxagent.common import conf
print(json.dumps(conf.__file__), flush=True)
for request in sys.stdin:
    request = json.loads(request)
    provider = conf.ConfigurationProvider()
    if isinstance(request, dict):  # a file, through the loader the agent starts with (Agent.__init__)
        try:
            conf.load_conf_from_file(request["file"], provider)
        except Exception as exc:
            print(json.dumps({"error": type(exc).__name__}), flush=True)
            continue
    else:
        provider.load(request)
    switch = provider.get_switch("Extensions.Enabled", True)
    print(json.dumps({"values": provider.values, "switch": switch}), flush=True)
"""


class Agent:
    def __init__(self, path):
        self.proc = subprocess.Popen(
            [linux_upstream.agent_python(), "-c", DRIVER, path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
        )
        self.module_file = json.loads(self.proc.stdout.readline())

    def reads(self, text):
        """What the agent's loader makes of ``text`` (a str), or of the file ``{"file": path}``."""
        self.proc.stdin.write(json.dumps(text) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"the agent's loader died on {text!r}"
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def agent_conf():
    path = linux_upstream.waagent_python_path()
    agent = Agent(path)
    try:
        assert agent.module_file.startswith(path), agent.module_file
        yield agent
    finally:
        agent.close()


def agent_reads(agent, text):
    return agent.reads(text)


pieces = st.sampled_from(
    [
        KEY,
        "Lib.Dir",
        "AutoUpdate.Enabled",
        "=",
        "#",
        '"',
        " ",
        "\t",
        "\r",
        "\x0c",
        "\u2028",
        "y",
        "n",
        "Y",
        "N",
        "no",
        "false",
        "0",
        "None",
        "x",
        "\xe9",
    ]
)
lines = st.lists(pieces, max_size=8).map("".join)
# LF or CRLF files, with or without a line ending after the last line (never empty: the agent refuses that)
texts = (
    st.tuples(st.lists(lines, min_size=1, max_size=8), st.sampled_from(["\n", "\r\n"]), st.booleans())
    .map(lambda t: t[1].join(t[0]) + (t[1] if t[2] else ""))
    .filter(bool)
)


def dominant_eol(text):
    """The line ending most lines of ``text`` end with (lines end at ``\n`` only; CRLF counts as CRLF); on a
    tie the one that comes first; ``\n`` when no line ends. Written from the input, not from our output."""
    crlf = text.count("\r\n")
    lf = text.count("\n") - crlf
    if crlf != lf:
        return "\r\n" if crlf > lf else "\n"
    if not lf:
        return "\n"
    first = text.index("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts)
def test_our_reading_is_the_agents_line_by_line(agent_conf, text):
    assert parse_waagent_conf(text) == agent_reads(agent_conf, text)["values"]
    for line in text.split("\n"):
        if line:
            assert parse_waagent_conf(line) == agent_reads(agent_conf, line)["values"], repr(line)
    agent = agent_reads(agent_conf, text)
    assert conf_disabled(parse_waagent_conf(text).get(KEY)) is (not agent["switch"]), repr(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts)
@example("Extensions.Enabled=n\r\nExtensions.Enabled=y")
@example("Logs.Verbose=n\r\nExtensions.Enabled=n")
@example("a=1\nb=2\r\nc=3")
# the unterminated last line keeps its value for the agent: a CR after a closing quote would keep the quote
@example('\r\n=Extensions.Enabled"')
@example('Lib.Dir="/var/lib/waagent"\r\nAutoUpdate.Enabled="y"')
def test_what_we_write_the_agent_reads_and_other_lines_stay(agent_conf, text):
    new = set_conf_value(text, KEY, "y")
    before, after = agent_reads(agent_conf, text), agent_reads(agent_conf, new)
    assert after["switch"] is True and after["values"][KEY] == "y"
    assert {k: v for k, v in after["values"].items() if k != KEY} == {
        k: v for k, v in before["values"].items() if k != KEY
    }, (text, new)
    # every line that does not set the key (as the agent decides) is kept byte for byte, in order; the
    # first that sets it becomes Extensions.Enabled=y with its own line ending, later ones go
    # (a last line without a line ending that is replaced, or followed by an appended line, gets the file's
    # dominant line ending, as does the appended line)
    eol_cr = "\r" if dominant_eol(text) == "\r\n" else ""
    old_lines = text.split("\n")
    unterminated = not text.endswith("\n")
    expected, done = [], False
    for index, line in enumerate(old_lines):
        last = unterminated and index == len(old_lines) - 1
        if line and KEY in agent_reads(agent_conf, line)["values"]:
            if not done:
                expected.append(f"{KEY}=y" + (eol_cr if last else ("\r" if line.endswith("\r") else "")))
                if last:
                    expected.append("")
                done = True
            elif last:  # a later line for the key goes; the line before it keeps its ending
                expected.append("")
            continue
        expected.append(line)
    if expected[-1] != "" and unterminated and not done:  # an unterminated last line gets an ending
        # the file's, unless a CR changes what the agent reads from the line (then LF alone)
        last_line = expected[-1]
        changes = agent_reads(agent_conf, last_line + "\r")["values"] != agent_reads(agent_conf, last_line)["values"]
        expected[-1] += "" if changes else eol_cr
        expected.append("")
    if not done:  # appended, with the line ending most lines of the file use
        expected[-1:] = [f"{KEY}=y" + eol_cr, ""]
    got = new.split("\n")
    assert got == expected, (text, new)


def _facts_conf(path):
    """The ``conf`` facts the scan (linux_backup_facts) and the waagent module gather from the file ``path``."""

    def no_command(argv):
        raise AssertionError(f"no command expected: {argv}")

    return gather_agent(no_command, lambda name: None, [], conf_path=str(path))["conf"]


# the bytes of a file: a text of the strategy above, as UTF-8, sometimes with a byte that is not UTF-8
files = st.tuples(texts, st.sampled_from([b"", b"\xff", b"\xe9"]), st.booleans()).map(
    lambda t: (t[1] + t[0].encode("utf-8")) if t[2] else (t[0].encode("utf-8") + t[1])
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(files, st.sampled_from([b"Extensions.Enabled=n\rAutoUpdate.Enabled=y\n", b"", b"\r\n"])))
def test_the_file_as_the_facts_read_it_is_the_agents(agent_conf, tmp_path_factory, data):
    """The file, not a string: the facts path (bytes, ``\n`` only, strict UTF-8) against ``load_conf_from_file``."""
    path = tmp_path_factory.mktemp("conf") / "waagent.conf"
    path.write_bytes(data)
    agent = agent_reads(agent_conf, {"file": str(path)})
    ours = _facts_conf(path)
    if "error" in agent:  # the agent cannot read the file (not UTF-8, empty): the facts say so
        assert ours["error"] and str(path) in ours["error"], (data, agent, ours)
        return
    assert ours["error"] is None, (data, ours)
    assert ours["extensions_enabled"] == agent["values"].get(KEY), data
    assert conf_disabled(ours["extensions_enabled"]) is (not agent["switch"]), data


@pytest.mark.parametrize(
    ("text", "disabled"),
    [
        ("Extensions.Enabled=n\n", True),
        ('Extensions.Enabled="n" # off\n', True),
        ("Extensions.Enabled = N\r\n", True),
        ("Extensions.Enabled=no\n", False),
        ("Extensions.Enabled=false\n", False),
        ("Extensions.Enabled=0\n", False),
        ("  # Extensions.Enabled=n\n", False),
        ("# Extensions.Enabled=n\n", False),
        ("Extensions.Enabled=None\n", False),
    ],
)
def test_known_forms(agent_conf, text, disabled):
    assert (not agent_reads(agent_conf, text)["switch"]) is disabled
    assert conf_disabled(parse_waagent_conf(text).get(KEY)) is disabled


def test_the_agent_is_debians(agent_conf):
    assert linux_upstream.waagent_version().startswith("waagent_2.")
