"""Hostile corpus, issue 10 item 4 (unbounded inputs) and the estate half of items 3 and 9.

Each case is one hostile input handed to the real CLI under the harness's time and memory bound:
files that are not files (devices, FIFOs, sockets, loops), files too big, YAML that nests, refers
to itself or fans out, estates too large, estate text carrying control or invisible characters,
numbers that are not sane, and a few legal oddities that must be accepted cleanly.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostile.harness import Bounded, _bounded, accepted, refused, run_bounded

DEMO = os.path.join(os.path.dirname(__file__), "..", "..", "runbooks", "estates", "demo.yaml")
CASCADE = os.path.join(
    os.path.dirname(__file__), "..", "..", "runbooks", "exercises", "cascade.yaml"
)

ESTATE = """\
estate:
  name: {name}
  tsb_version: {version}
  management:
    cluster: tsb-mgmt
    region: {region}
    context: {mgmt_context}
    fqdn: {fqdn}
    organization: demo
{status_url}
  clusters:
    - name: eu-west
      region: europe-west1
      context: {context}
  services:
    - name: storefront
      clusters: [eu-west]
  support:
    contact: {contact}
    severity: {severity}
"""
FIELDS = {
    "name": "Demo",
    "version": '"1.12"',
    "region": "europe-west3",
    "mgmt_context": "gke-tsb-mgmt",
    "fqdn": "tsb.example.com",
    "status_url": "",
    "context": "gke-eu-west",
    "contact": "https://tetrate.io/contact-us/",
    "severity": "highest",
}


def estate(**fields: str) -> str:
    return ESTATE.format(**{**FIELDS, **fields})


def write(tmp_path, text: str | bytes, name: str = "estate.yaml") -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def components(path: str, **kw) -> Bounded:
    return run_bounded("components", "--estate", path, **kw)


def first_problem(result: Bounded, *names: str) -> str:
    """`validate` and `exercise check`: exit 2, problem lines then a count, the first naming `names`."""
    _bounded(result)
    assert result.rc == 2, str(result)
    lines = result.err.strip().splitlines()
    assert len(lines) >= 2 and "problem(s) in" in lines[-1], str(result)
    for name in names:
        assert any(name in line for line in lines[:-1]), f"{name!r} not in {lines!r}"
    return lines[0]


# --- Files that are not (readable, bounded) YAML files ------------------------------------------


def test_dev_zero_is_a_device():
    line = refused(components("/dev/zero"), "/dev/zero", "device")
    assert "not a YAML file" in line


def test_dev_null_is_a_device_with_a_clean_message():
    refused(components("/dev/null"), "/dev/null", "device")


def test_dev_stdin_pipe_is_refused():
    # A pipe is read once and gone: the incident keeps the estate text, but reloads and `validate`
    # re-read the path. Refused with a hint to save it to a file.
    refused(components("/dev/stdin", stdin=Path(DEMO).read_bytes()), "/dev/stdin", "FIFO")


def test_dev_stdin_redirected_from_a_file_is_read():
    with open(DEMO, "rb") as fh:
        proc = subprocess.run(
            [sys.executable, "-m", "tsbrunbook", "components", "--estate", "/dev/stdin"],
            stdin=fh,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 0, proc.stderr


def test_fifo_never_blocks(tmp_path):
    fifo = tmp_path / "estate.yaml"
    os.mkfifo(fifo)
    refused(components(str(fifo)), "estate.yaml", "FIFO")


def test_socket(tmp_path):
    path = str(tmp_path / "estate.yaml")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(path)
        refused(components(path), "estate.yaml", "socket")
    finally:
        sock.close()


def test_directory(tmp_path):
    refused(components(str(tmp_path)), str(tmp_path), "directory")


def test_symlink_loop(tmp_path):
    os.symlink(tmp_path / "b.yaml", tmp_path / "a.yaml")
    os.symlink(tmp_path / "a.yaml", tmp_path / "b.yaml")
    refused(components(str(tmp_path / "a.yaml")), "a.yaml", "symbolic link")


def test_sparse_file_over_the_cap(tmp_path):
    path = tmp_path / "estate.yaml"
    with open(path, "wb") as fh:
        fh.truncate(9 * 1024 * 1024)
    refused(components(str(path)), "estate.yaml", "larger than 8 MB")


def test_empty_regular_file(tmp_path):
    refused(components(write(tmp_path, "")), "estate.yaml:1", "empty")


# --- YAML shapes that recurse, nest or expand ---------------------------------------------------

SHAPES = {
    "self-referencing anchor": ("estate: &a [*a]\n", "estate.yaml:1", "refers to itself"),
    "self-referencing map": (
        "estate: &m\n  name: x\n  again: *m\n",
        "estate.yaml:3",
        "refers to itself",
    ),
    "2000-deep flow list": (
        "estate: " + "[" * 2000 + "]" * 2000 + "\n",
        "estate.yaml:1",
        "nested more than",
    ),
    "2000-deep flow map": (
        "estate: " + "{a: " * 2000 + "1" + "}" * 2000 + "\n",
        "estate.yaml:1",
        "nested more than",
    ),
    "2000-deep block map": (
        "estate:\n" + "".join(" " * (i + 1) + "a:\n" for i in range(2000)),
        "estate.yaml:",
        "nested more than",
    ),
    "alias fan-out": (
        "estate:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, 10)
        ),
        "estate.yaml:",
        "alias bomb",
    ),
    "undefined alias": ("estate: *nowhere\n", "estate.yaml:1", "alias"),
    "two documents": ("estate: {}\n---\nestate: {}\n", "estate.yaml:", "one document"),
    "empty document": ("---\n...\n", "estate.yaml:", "empty"),
    "scalar document": ("just some text\n", "estate.yaml:1", "top-level key"),
    "list document": ("- estate\n- more\n", "estate.yaml:1", "top-level key"),
    "duplicate keys": (
        estate().replace("  tsb_version:", '  name: "Again"\n  tsb_version:'),
        "estate.yaml:3",
        "duplicate key",
    ),
    "non-UTF-8": (b"estate:\n  name: \xff\xfe\n", "estate.yaml", "not UTF-8"),
}


@pytest.mark.parametrize("text, where, what", SHAPES.values(), ids=SHAPES.keys())
def test_yaml_shapes(tmp_path, text, where, what):
    refused(components(write(tmp_path, text)), where, what)


def test_byte_order_mark_is_accepted(tmp_path):
    accepted(components(write(tmp_path, b"\xef\xbb\xbf" + estate().encode())))


def _many_clusters(n: int, services: int = 1) -> str:
    head = "estate:\n  name: Big\n  management:\n    cluster: tsb-mgmt\n  clusters:\n"
    body = "".join(f"    - {{name: c{i:06d}, context: gke-{i:06d}}}\n" for i in range(n))
    tail = "  services:\n" + "".join(
        f"    - {{name: s{j:06d}, clusters: [c000000]}}\n" for j in range(services)
    )
    return head + body + tail


def test_190k_cluster_estate_is_refused_fast(tmp_path):
    path = write(tmp_path, _many_clusters(190_000))
    assert 7 * 1024 * 1024 < os.path.getsize(path) < 8 * 1024 * 1024
    refused(components(path), "estate.yaml:")


def test_6000_clusters(tmp_path):
    line = refused(
        components(write(tmp_path, _many_clusters(6000))), "estate.yaml:5", "6000 clusters"
    )
    assert "at most 5000" in line


def test_20001_services(tmp_path):
    line = refused(
        components(write(tmp_path, _many_clusters(1, services=20_001))),
        "estate.yaml:7",
        "20001 services",
    )
    assert "at most 20000" in line


def test_5000_clusters_are_accepted(tmp_path):
    accepted(components(write(tmp_path, _many_clusters(5000, services=10))))


# --- Estate text: control and invisible characters ----------------------------------------------

STRINGS = {
    "ESC in a cluster context": ({"context": '"gke-eu-west\\e[2J"'}, "estate.yaml:14"),
    "newline in a cluster context": ({"context": '"gke-eu-west\\ntouch /tmp/x"'}, "estate.yaml:14"),
    "ESC in the management context": ({"mgmt_context": '"gke\\e]52;c;aGk=\\a"'}, "estate.yaml:7"),
    "bidi override in a region": ({"region": '"europe\\u202Ewest3"'}, "estate.yaml:6"),
    "zero-width space in the fqdn": ({"fqdn": '"tsb\\u200B.example.com"'}, "estate.yaml:8"),
    "DEL in the estate name": ({"name": '"Demo\\x7f"'}, "estate.yaml:2"),
    "C1 CSI in the support contact": ({"contact": '"call \\x9b2J us"'}, "estate.yaml:19"),
    "tab in a context": ({"context": '"gke\\teu"'}, "estate.yaml:14"),
    "CR LF in status_url": (
        {"status_url": '    status_url: "https://tsb.example.com/x\\r\\nX-Evil: 1"'},
        "estate.yaml:10",
    ),
    "ESC in status_url": (
        {"status_url": '    status_url: "https://tsb.example.com/\\e[31m"'},
        "estate.yaml:10",
    ),
    "space in status_url": (
        {"status_url": '    status_url: "https://tsb.example.com/a b"'},
        "estate.yaml:10",
    ),
    "ESC in a multi-line severity": ({"severity": '"line one\\nline two\\e[2J"'}, "estate.yaml:20"),
}


@pytest.mark.parametrize("fields, where", STRINGS.values(), ids=STRINGS.keys())
def test_estate_strings(tmp_path, fields, where):
    path = write(tmp_path, estate(**fields))
    refused(components(path), where)
    first_problem(run_bounded("validate", path), where)


def test_newlines_are_legal_in_the_severity_text(tmp_path):
    accepted(components(write(tmp_path, estate(severity='"line one\\nline two"'))))


def test_a_plain_status_url_is_accepted(tmp_path):
    accepted(
        components(
            write(
                tmp_path,
                estate(status_url="    status_url: https://tsb.example.com:8443/v2/status"),
            )
        )
    )


def test_shell_metacharacters_are_left_to_quoting(tmp_path):
    # Not refused: the commands quote substituted values (issue 10 item 3, the quoting half).
    accepted(components(write(tmp_path, estate(context='"gke-eu-west; touch /tmp/x #"'))))


# --- Numbers ------------------------------------------------------------------------------------

NUMBERS = {
    "tsb_version 1e99999": ("1e99999", "estate.yaml:3"),
    "tsb_version 1.0e+99999 (inf)": ("1.0e+99999", "estate.yaml:3"),
    "tsb_version 400 digits": ("1" * 400, "estate.yaml:3"),
    "tsb_version .nan": (".nan", "estate.yaml:3"),
    "tsb_version .inf": (".inf", "estate.yaml:3"),
    "tsb_version text": ("latest", "estate.yaml:3"),
}


@pytest.mark.parametrize("version, where", NUMBERS.values(), ids=NUMBERS.keys())
def test_tsb_version(tmp_path, version, where):
    refused(components(write(tmp_path, estate(version=version))), where, "tsb_version")


@pytest.mark.parametrize("version", ["1.12", "1.10", "1.12.3", '"1.12.3-rc1"'])
def test_tsb_version_accepted_as_written(tmp_path, version):
    env = {"TSBRUNBOOK_HOME": str(tmp_path / "home")}
    started = accepted(
        run_bounded(
            "incident",
            "start",
            "drill",
            "--estate",
            write(tmp_path, estate(version=version)),
            env=env,
        )
    )
    shown = accepted(
        run_bounded("incident", "show", started.out.strip(), "--format", "json", env=env)
    )
    assert f'"tsb_version": "{version.strip(chr(34))}"' in shown.out  # 1.10 stays 1.10, not 1.1


def test_estate_escalation_of_a_huge_duration(tmp_path):
    text = estate() + "  escalation:\n    after:\n      outage: 99999999999999999999999h\n"
    refused(components(write(tmp_path, text)), "estate.yaml:23", "outage")


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first occurrence of `needle`, so edits to the shipped exercise
    move the expected line with them."""
    assert needle in text, needle
    return text[: text.index(needle)].count("\n") + 1


EXERCISE_POINTS = {
    "points 1e400": "1e400",
    "points 400 digits": "1" * 400,
    "points .nan": ".nan",
    "points .inf": ".inf",
    "points a million": "1000000",
}


@pytest.mark.parametrize("points", EXERCISE_POINTS.values(), ids=EXERCISE_POINTS.keys())
def test_exercise_points(tmp_path, points):
    original = Path(CASCADE).read_text(encoding="utf-8")
    line = line_of(original, "points: ")
    text = re.sub(r"points: \d+", f"points: {points}", original, count=1)
    first_problem(
        run_bounded("exercise", "check", write(tmp_path, text, "cascade.yaml")),
        f"cascade.yaml:{line}",
        "points",
    )


def test_exercise_huge_offset(tmp_path):
    original = Path(CASCADE).read_text(encoding="utf-8")
    line = line_of(original, 'at: "01:00"')
    text = original.replace('at: "01:00"', 'at: "99999999999999999999:00:00"', 1)
    first_problem(
        run_bounded("exercise", "check", write(tmp_path, text, "cascade.yaml")),
        f"cascade.yaml:{line}",
    )


def test_exercise_huge_duration(tmp_path):
    original = Path(CASCADE).read_text(encoding="utf-8")
    line = line_of(original, "duration: 45m")
    text = original.replace("duration: 45m", "duration: 99999999999999999999999h", 1)
    first_problem(
        run_bounded("exercise", "check", write(tmp_path, text, "cascade.yaml")),
        f"cascade.yaml:{line}",
        "duration",
    )


def test_exercise_file_that_is_a_fifo(tmp_path):
    fifo = tmp_path / "drill.yaml"
    os.mkfifo(fifo)
    first_problem(run_bounded("exercise", "check", str(fifo)), "drill.yaml", "FIFO")
