"""Files the user asks for (`-o`, the TUI's exports): never a device, a database, a file in the
data directory, or an existing file without --force; writes are atomic; fresh names never collide."""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from tests.test_bad_input import one_error_line
from tests.test_incident_cli import start, store_bytes
from tsbrunbook.domain.errors import UserError


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def incident(cli) -> str:
    iid = start(cli)
    assert cli("incident", "down", iid, "postgres").rc == 0
    return iid


@pytest.fixture
def exercise_run(pack) -> str:
    from tests.test_exercise import start_run

    _, run = start_run(pack)
    return run.session.id


# The three commands that write a file, each as (argv before -o, what its first line starts with).
def writers(incident: str, run: str) -> list[list[str]]:
    return [
        ["incident", "export", incident],
        ["incident", "brief", incident],
        ["exercise", "report", run],
    ]


@pytest.fixture
def commands(incident, exercise_run) -> list[list[str]]:
    return writers(incident, exercise_run)


def test_export_onto_the_stores_own_sqlite_file_is_refused_and_every_incident_survives(
    cli, isolated_home, incident
):
    db = isolated_home / "incidents.sqlite3"
    before = store_bytes(isolated_home)
    for force in ([], ["--force"]):
        line = one_error_line(cli("incident", "export", incident, "-o", str(db), *force))
        assert (
            str(db) in line
            and "data directory" in line
            and "pick a path outside the data directory" in line
        )
    assert store_bytes(isolated_home) == before
    listed = cli("incident", "list")
    assert listed.rc == 0 and incident in listed.out


def test_any_file_in_the_data_directory_is_refused_even_a_new_one(cli, isolated_home, commands):
    for argv in commands:
        target = isolated_home / "notes.md"
        line = one_error_line(cli(*argv, "-o", str(target)))
        assert str(target) in line and "inside the data directory" in line
        assert not target.exists()


def test_another_sqlite_database_is_never_replaced(cli, tmp_path, commands):
    other = tmp_path / "team.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    before = sha(other)
    for argv in commands:
        line = one_error_line(cli(*argv, "-o", str(other), "--force"))
        assert str(other) in line and "SQLite database" in line
    assert sha(other) == before


def test_an_existing_file_is_replaced_only_with_force(cli, tmp_path, commands):
    for argv in commands:
        target = tmp_path / "existing.md"
        target.write_text("keep me\n")
        before = sha(target)
        line = one_error_line(cli(*argv, "-o", str(target)))
        assert f"{target}: already exists (add --force to replace it)" in line
        assert sha(target) == before
        forced = cli(*argv, "-o", str(target), "--force")
        assert forced.rc == 0, forced.err
        assert target.read_text().startswith("# ")
        target.unlink()


def test_a_fifo_a_socket_and_a_symlink_to_a_device_are_refused_and_left_alone(
    cli, tmp_path, incident
):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    sock_path = tmp_path / "s.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(sock_path))
    link = tmp_path / "null.md"
    link.symlink_to("/dev/null")
    try:
        for target, kind in ((fifo, "FIFO"), (sock_path, "socket"), (link, "character device")):
            line = one_error_line(cli("incident", "export", incident, "-o", str(target), "--force"))
            assert str(target) in line and kind in line and "not a regular file" in line
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
        assert stat.S_ISSOCK(os.lstat(sock_path).st_mode)
        assert os.path.islink(link) and os.readlink(link) == "/dev/null"
    finally:
        sock.close()


def test_a_symlink_is_followed_before_deciding(cli, tmp_path, isolated_home, incident):
    """A link into the data directory is refused; a link to a regular file writes through it."""
    into_store = tmp_path / "innocent.md"
    into_store.symlink_to(isolated_home / "incidents.sqlite3")
    before = store_bytes(isolated_home)
    line = one_error_line(cli("incident", "export", incident, "-o", str(into_store), "--force"))
    assert str(into_store) in line and "data directory" in line
    assert store_bytes(isolated_home) == before and os.path.islink(into_store)
    real = tmp_path / "real.md"
    real.write_text("old\n")
    link = tmp_path / "link.md"
    link.symlink_to(real)
    assert cli("incident", "export", incident, "-o", str(link), "--force").rc == 0
    assert os.path.islink(link) and real.read_text().startswith("# Incident")


def test_a_new_file_is_written_without_force(cli, tmp_path, commands):
    for n, argv in enumerate(commands):
        target = tmp_path / f"new-{n}.md"
        result = cli(*argv, "-o", str(target))
        assert result.rc == 0, result.err
        assert target.read_text().startswith("# ")
    assert not [
        p for p in os.listdir(tmp_path) if p.startswith(".tsbrunbook-")
    ]  # no temporary left


def test_a_file_that_appears_between_the_check_and_the_write_is_kept(tmp_path, monkeypatch):
    """Without --force the final step is exclusive: a racing writer's file is not replaced."""
    from tsbrunbook import output

    target = tmp_path / "race.md"
    real_temporary = output._temporary

    def racing(folder: str, text: str) -> str:
        target.write_text("theirs\n")
        return real_temporary(folder, text)

    monkeypatch.setattr(output, "_temporary", racing)
    with pytest.raises(UserError, match="already exists"):
        output.write_atomically(str(target), "ours\n")
    assert target.read_text() == "theirs\n"
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tsbrunbook-")]


def test_fresh_names_never_overwrite(tmp_path):
    from tsbrunbook import output

    first = output.write_fresh(str(tmp_path), "INC-1.md", "one\n")
    second = output.write_fresh(str(tmp_path), "INC-1.md", "two\n")
    os.mkfifo(tmp_path / "INC-1-3.md")  # whatever holds a name, it is skipped, never opened
    third = output.write_fresh(str(tmp_path), "INC-1.md", "three\n")
    assert [os.path.basename(p) for p in (first, second, third)] == [
        "INC-1.md",
        "INC-1-2.md",
        "INC-1-4.md",
    ]
    assert [Path(p).read_text() for p in (first, second, third)] == ["one\n", "two\n", "three\n"]
    assert stat.S_ISFIFO(os.lstat(tmp_path / "INC-1-3.md").st_mode)


def test_concurrent_fresh_writers_each_get_their_own_file(tmp_path):
    from tsbrunbook import output

    paths: list[str] = []
    barrier = threading.Barrier(8)

    def write(n: int) -> None:
        barrier.wait()
        paths.append(output.write_fresh(str(tmp_path), "INC-1-brief.md", f"writer {n}\n"))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(paths)) == 8
    assert sorted(Path(p).read_text() for p in paths) == sorted(f"writer {n}\n" for n in range(8))


def test_fresh_exports_are_refused_inside_the_data_directory(isolated_home):
    from tsbrunbook import output

    with pytest.raises(UserError, match="inside the data directory"):
        output.write_fresh(str(isolated_home), "INC-1.md", "x\n")
    assert sorted(os.listdir(isolated_home)) == []


async def test_tui_exports_twice_into_two_files(tmp_path):
    from tests.tui.test_flows import new_app

    folder = Path(os.environ["TSBRUNBOOK_EXPORT_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    app = new_app()
    async with app.run_test() as pilot:
        (folder / f"{app.session.id}.md").write_text("an older export\n")
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        sid = app.session.id
    assert (folder / f"{sid}.md").read_text() == "an older export\n"
    assert (folder / f"{sid}-2.md").read_text().startswith("# Incident")
    assert (folder / f"{sid}-3.md").read_text().startswith("# Incident")
