"""The harness itself tells a refusal from a crash, and measures the child it ran."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
from pathlib import Path

import pytest

from tests.hostile.harness import Bounded, accepted, refused, run_bounded
from tests.zygote import Zygote, this_process_zygote


def test_a_clean_refusal_and_a_clean_acceptance():
    line = refused(run_bounded("impact", "--down", "no-such-component"), "no-such-component")
    assert "unknown component" in line
    result = accepted(run_bounded("impact", "--down", "postgres", "--format", "json"))
    assert result.peak_mb > 5 and result.seconds > 0


def test_a_traceback_is_never_a_refusal():
    result = run_bounded("impact", "--down", "postgres")
    result.rc, result.err = 2, "Traceback (most recent call last):\n  boom\n"
    with pytest.raises(AssertionError):
        refused(result)


# The harness runs each case in a child of its zygote (tests/zygote.py): forked from an
# interpreter with the command line imported, or exec'd afresh. The tests below run a probe
# module (tests/hostile/harness_probe.py) both ways and hold the fork to what a fresh
# `python -m` process does.

PROBE = Path(__file__).with_name("harness_probe.py")


def probe(*args: str, cwd: Path, **kw) -> Bounded:
    """Run the probe as `python -m harness_probe ARGS` in `cwd`: imported from the working
    directory, as -m imports, whether forked or fresh."""
    shutil.copyfile(PROBE, cwd / PROBE.name)
    return run_bounded(*args, module=PROBE.stem, cwd=str(cwd), **kw)


def both_ways(*args: str, **kw) -> tuple[Bounded, Bounded]:
    forked, fresh = probe(*args, fresh=False, **kw), probe(*args, fresh=True, **kw)
    assert (forked.forked, fresh.forked) == (True, False)
    return forked, fresh


def without_zygote_frame(err: str) -> str:
    """A forked child's traceback has one more frame, the zygote's `<module>`, on top."""
    return re.sub(r'  File "[^"]*tests/zygote\.py".*\n    .*\n( *[~^]+\n)?', "", err)


def comparable(state: dict) -> dict:
    """A probe's `state`, less what only a forked child has: the command line, imported but
    never called (a fresh `python -m` probe never imports it)."""
    assert state.pop("parser_cache") in (0, None), "a forked child started with a warm cache"
    return state


def test_a_forked_child_starts_as_a_fresh_interpreter_would(tmp_path):
    forked, fresh = both_ways("state", env={"TZ": "Asia/Kolkata"}, cwd=tmp_path)
    forked_state, fresh_state = json.loads(forked.out), json.loads(fresh.out)
    assert comparable(forked_state) == comparable(fresh_state)
    assert fresh_state["cwd"] == fresh_state["path0"] == str(tmp_path)
    assert fresh_state["environ"]["TZ"] == "Asia/Kolkata"
    assert fresh_state["time_zone"] == [["IST", "IST"], -19800]


@pytest.mark.parametrize("unbuffered", ["1", None], ids=["unbuffered", "buffered"])
def test_the_standard_streams_are_built_as_the_interpreter_builds_them(
    unbuffered, tmp_path, monkeypatch
):
    if unbuffered:
        monkeypatch.setenv("PYTHONUNBUFFERED", unbuffered)
    else:
        monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)
    own = Zygote(dict(os.environ))  # started with this start-up environment: it forks
    try:
        forked, fresh = (
            probe("state", fresh=fresh, cwd=tmp_path, zygote=lambda: own) for fresh in (False, True)
        )
    finally:
        own.close()
    assert forked.forked and not fresh.forked
    stdio = [json.loads(result.out)["stdio"] for result in (forked, fresh)]
    assert stdio[0] == stdio[1]
    assert stdio[0][1]["write_through"] == bool(unbuffered)


@pytest.mark.parametrize(
    "args",
    [
        ["crash"],
        ["exit", "none"],
        ["exit", "3"],
        ["exit", "a message"],
        ["interrupt"],
        ["thread"],
        ["atexit"],
        ["unflushed"],
    ],
    ids=" ".join,
)
def test_a_child_ends_as_the_interpreter_ends_it(args, tmp_path):
    forked, fresh = both_ways(*args, cwd=tmp_path)
    assert (forked.rc, forked.out) == (fresh.rc, fresh.out)
    assert without_zygote_frame(forked.err) == fresh.err


def test_a_child_that_crashes_is_seen_as_a_crash(tmp_path):
    result = probe("crash", cwd=tmp_path)
    assert result.rc == 1 and "Traceback" in result.err and "RuntimeError: boom" in result.err
    with pytest.raises(AssertionError, match="Traceback"):
        accepted(result)


@pytest.mark.parametrize("fresh", [False, True], ids=["forked", "fresh"])
def test_a_child_past_its_deadline_is_killed(fresh, tmp_path):
    result = probe("hang", seconds=0.5, fresh=fresh, cwd=tmp_path)
    assert result.killed and result.rc == -signal.SIGKILL, str(result)
    with pytest.raises(AssertionError, match="still running"):
        accepted(result)


@pytest.mark.parametrize("fresh", [False, True], ids=["forked", "fresh"])
def test_the_peak_memory_is_the_childs_own(fresh, tmp_path):
    """Measured per child, and not the test process's: a process started from a large one
    (subprocess forks, then execs) used to report the parent's resident set as its own."""
    ballast = bytearray(200 * 1024 * 1024)
    ballast[::4096] = b"\1" * len(ballast[::4096])
    small = probe("allocate", "0", fresh=fresh, cwd=tmp_path)
    large = probe("allocate", "120", fresh=fresh, cwd=tmp_path)
    assert small.peak_mb < 100, str(small)
    assert large.peak_mb - small.peak_mb > 100, f"{small.peak_mb} → {large.peak_mb}"
    del ballast


def test_each_child_has_its_own_environment_and_directory(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    own = Zygote({**os.environ, "ONLY_THE_ZYGOTE": "1"})
    try:
        accepted(probe("mutate", env={"ONLY_THE_FIRST": "1"}, cwd=first, zygote=lambda: own))
        accepted(run_bounded("impact", "--down", "postgres", zygote=lambda: own))
        state = json.loads(probe("state", cwd=second, fresh=False, zygote=lambda: own).out)
    finally:
        own.close()
    assert state["environ"] == {**os.environ}  # wholly replaced: nothing of the zygote's
    assert "ONLY_THE_FIRST" not in state["environ"] and "LEFT_BEHIND" not in state["environ"]
    assert state["cwd"] == state["path0"] == str(second)
    assert "/left/behind" not in state and state["parser_cache"] == 0
    assert state["open_fds"] == [0, 1, 2, 3]  # the three streams, and listdir's own


def test_a_start_up_variable_gets_a_fresh_interpreter(tmp_path):
    result = probe("state", env={"PYTHONIOENCODING": "ascii"}, cwd=tmp_path)
    assert not result.forked
    assert json.loads(result.out)["stdio"][1]["encoding"] == "ascii"


def test_a_zygote_that_died_is_replaced():
    before = this_process_zygote()
    accepted(run_bounded("impact", "--down", "postgres"))
    os.kill(before.pid, signal.SIGKILL)
    before.process.wait()
    result = accepted(run_bounded("impact", "--down", "postgres", fresh=False))
    assert result.forked and this_process_zygote().pid != before.pid
