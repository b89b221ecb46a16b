"""Hostile corpus: files. Output paths that must never be written (devices, FIFOs, sockets,
directories, the store, any SQLite file, the data directory, an existing file without --force)
and stores with one damaged event, each run through the real CLI under the harness's bounds."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.hostile.harness import accepted, refused, run_bounded
from tsbrunbook.store import Store


@pytest.fixture
def incident(isolated_home) -> str:
    """An incident with events 1 (started), 2 (down postgres), 3 (a note)."""
    with Store() as store:
        iid = store.create("hostile files", meta={"estate_file": None})
        store.append(iid, "down", {"components": ["postgres"]})
        store.append(iid, "note", {"text": "checked the pods"})
    return iid


def fingerprint(path: str) -> tuple:
    """What the path is and holds, without opening anything that is not a regular file."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return ("absent",)
    if stat.S_ISLNK(st.st_mode):
        return (
            "link",
            os.readlink(path),
            fingerprint(os.path.realpath(path))
            if os.path.lexists(os.path.realpath(path)) and os.path.realpath(path) != path
            else None,
        )
    content = (
        hashlib.sha256(Path(path).read_bytes()).hexdigest() if stat.S_ISREG(st.st_mode) else None
    )
    return (stat.S_IFMT(st.st_mode), st.st_ino, st.st_rdev, content)


def store_files(home: Path) -> dict[str, tuple]:
    return {
        name: fingerprint(str(home / name))
        for name in ("incidents.sqlite3", "incidents.sqlite3-wal")
    }


def sqlite_file(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE other_program (x)")
    conn.commit()
    conn.close()


# Each case builds its target in (tmp_path, home) and returns (target, extra args, verdict, what the
# line must say). verdict "refused" or "accepted".
Case = Callable[[Path, Path], tuple[str, list[str], str, str]]


def _fifo(tmp: Path, home: Path):
    os.mkfifo(tmp / "pipe.md")
    return str(tmp / "pipe.md"), ["--force"], "refused", "FIFO"


def _socket(tmp: Path, home: Path):
    path = tmp / "s.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()  # the socket file stays
    return str(path), ["--force"], "refused", "socket"


def _directory(tmp: Path, home: Path):
    (tmp / "out").mkdir()
    return str(tmp / "out"), ["--force"], "refused", "is a directory"


def _link_to_device(tmp: Path, home: Path):
    (tmp / "report.md").symlink_to("/dev/null")
    return str(tmp / "report.md"), ["--force"], "refused", "character device"


def _link_to_store(tmp: Path, home: Path):
    (tmp / "export.md").symlink_to(home / "incidents.sqlite3")
    return str(tmp / "export.md"), ["--force"], "refused", "data directory"


def _dangling_link_into_data_dir(tmp: Path, home: Path):
    (tmp / "later.md").symlink_to(home / "not-yet.md")
    return str(tmp / "later.md"), [], "refused", "data directory"


def _store_itself(tmp: Path, home: Path):
    return str(home / "incidents.sqlite3"), ["--force"], "refused", "data directory"


def _store_wal(tmp: Path, home: Path):
    return str(home / "incidents.sqlite3-wal"), ["--force"], "refused", "data directory"


def _other_sqlite(tmp: Path, home: Path):
    sqlite_file(tmp / "team.db")
    return str(tmp / "team.db"), ["--force"], "refused", "SQLite database"


def _sqlite_named_like_markdown(tmp: Path, home: Path):
    sqlite_file(tmp / "notes.md")
    return str(tmp / "notes.md"), ["--force"], "refused", "SQLite database"


def _new_file_in_data_dir(tmp: Path, home: Path):
    return str(home / "export.md"), [], "refused", "inside the data directory"


def _data_dir_via_dotdot(tmp: Path, home: Path):
    return str(tmp / ".." / home.name / "export.md"), [], "refused", "inside the data directory"


def _existing_without_force(tmp: Path, home: Path):
    (tmp / "existing.md").write_text("yesterday's export\n")
    return str(tmp / "existing.md"), [], "refused", "add --force to replace it"


def _existing_with_force(tmp: Path, home: Path):
    (tmp / "existing.md").write_text("yesterday's export\n")
    return str(tmp / "existing.md"), ["--force"], "accepted", ""


def _missing_parent(tmp: Path, home: Path):
    return str(tmp / "no" / "such" / "dir" / "x.md"), [], "refused", "does not exist"


def _control_characters_existing(tmp: Path, home: Path):
    name = tmp / "evil\x1b]52;c;cm0gLXJmIH4=\x07\n\r.md"
    name.write_text("keep\n")
    return str(name), [], "refused", "already exists"


def _control_characters_new(tmp: Path, home: Path):
    return str(tmp / "new\x1b[2J\x1b]0;pwned\x07.md"), [], "accepted", ""


def _symlink_loop(tmp: Path, home: Path):
    (tmp / "a.md").symlink_to(tmp / "b.md")
    (tmp / "b.md").symlink_to(tmp / "a.md")
    return str(tmp / "a.md"), ["--force"], "refused", "a.md"


def _dev_null(tmp: Path, home: Path):
    return "/dev/null", ["--force"], "refused", "character device"


def _dev_full(tmp: Path, home: Path):
    return "/dev/full", ["--force"], "refused", "character device"


CASES: dict[str, Case] = {
    "/dev/null": _dev_null,
    "a FIFO": _fifo,
    "a socket": _socket,
    "a directory": _directory,
    "a symlink to a device": _link_to_device,
    "a symlink to the store": _link_to_store,
    "a dangling symlink into the data directory": _dangling_link_into_data_dir,
    "the store's sqlite file": _store_itself,
    "the store's write-ahead log": _store_wal,
    "another sqlite file": _other_sqlite,
    "an sqlite file named .md": _sqlite_named_like_markdown,
    "a new file in the data directory": _new_file_in_data_dir,
    "the data directory through ..": _data_dir_via_dotdot,
    "an existing file without --force": _existing_without_force,
    "an existing file with --force": _existing_with_force,
    "a path whose parent does not exist": _missing_parent,
    "control characters in an existing name": _control_characters_existing,
    "control characters in a new name": _control_characters_new,
    "a symlink loop": _symlink_loop,
}
if os.geteuid() == 0:  # as root an atomic rename onto /dev/full would replace the device node
    CASES["/dev/full as root"] = _dev_full

COMMANDS = ("export", "brief")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_output_path(case, command, tmp_path, isolated_home, incident):
    work = tmp_path / "work"
    work.mkdir()
    target, extra, verdict, says = CASES[case](work, isolated_home)
    before, store_before = fingerprint(target), store_files(isolated_home)
    result = run_bounded("incident", command, incident, "-o", target, *extra)
    if verdict == "accepted":
        accepted(result)
        assert Path(target).read_text(encoding="utf-8").startswith("# ")
        return
    line = refused(result, says)
    # The path is named (cleaned of control characters, so its printable part).
    assert "".join(ch for ch in target if ch.isprintable()).split("\x1b")[0][:20] in line
    assert fingerprint(target) == before, "a refused write changed its target"
    assert store_files(isolated_home) == store_before, "a refused write changed the store"
    assert not [p for p in os.listdir(work) if p.startswith(".tsbrunbook-")], (
        "a temporary file was left behind"
    )


def test_exercise_report_refuses_a_fifo(tmp_path, isolated_home, pack):
    from tests.test_exercise import start_run

    _, run = start_run(pack)
    os.mkfifo(tmp_path / "aar.md")
    line = refused(
        run_bounded(
            "exercise", "report", run.session.id, "-o", str(tmp_path / "aar.md"), "--force"
        ),
        str(tmp_path / "aar.md"),
        "FIFO",
    )
    assert "not a regular file" in line
    assert stat.S_ISFIFO(os.lstat(tmp_path / "aar.md").st_mode)


# ---------------------------------------------------------------------------------------------
# A store with one damaged event: the other incidents stay listed and usable.

DAMAGED = {
    "bad JSON": ("data", '{"text": "checked the'),
    "a JSON list instead of an object": ("data", '["checked the pods"]'),
    "a bad timestamp": ("at", "2026-11-30 25:61"),
    "a note without its text": ("data", '{"ref": null}'),
    "deeply nested JSON": ("data", "[" * 100_000 + "]" * 100_000),
}


@pytest.fixture
def damaged_store(isolated_home, incident, request) -> tuple[str, str]:
    """Two healthy incidents around `incident`, whose event 3 is then damaged as the case says."""
    with Store() as store:
        healthy = store.create("healthy one")
        store.append(healthy, "down", {"components": ["elasticsearch"]})
    column, value = DAMAGED[request.param]
    conn = sqlite3.connect(isolated_home / "incidents.sqlite3")
    with conn:
        conn.execute(
            f"UPDATE events SET {column} = ? WHERE incident = ? AND seq = 3", (value, incident)
        )
    conn.close()
    return incident, healthy


@pytest.mark.parametrize("damaged_store", list(DAMAGED), indirect=True)
def test_list_shows_the_others_and_marks_the_damaged(damaged_store):
    broken, healthy = damaged_store
    result = accepted(run_bounded("incident", "list", "--format", "json"))
    listed = {i["id"]: i for i in json.loads(result.out)}
    assert set(listed) == {broken, healthy}
    assert listed[healthy]["damaged"] is None and listed[healthy]["down"] == ["elasticsearch"]
    assert listed[broken]["damaged"].startswith("event 3 cannot be read")


@pytest.mark.parametrize("damaged_store", list(DAMAGED), indirect=True)
def test_show_refuses_the_damaged_incident_in_one_line(damaged_store, isolated_home):
    broken, healthy = damaged_store
    line = refused(
        run_bounded("incident", "show", broken),
        str(isolated_home / "incidents.sqlite3"),
        f"incident {broken}, event 3 cannot be read",
    )
    assert "the other incidents are unaffected" in line
    accepted(run_bounded("incident", "show", healthy))
