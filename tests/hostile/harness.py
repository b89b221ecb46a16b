"""The hostile-input harness: run the real CLI under a time and memory bound, then judge it.

Every entry of the hostile corpus (the `test_*.py` files beside this one) ends in one of two
verdicts:
- `refused(result, *names)`: exit 2, exactly one line on stderr that starts with `tsbrunbook`,
  names the file/line or id (each of `names` appears in it), carries no control character and no
  traceback;
- `accepted(result)`: exit 0, no traceback — the input was legal and is handled as such.
Both also check the bounds: the process finished within `SECONDS` and its peak resident memory
stayed under `MEMORY_MB`. The deadline is a bound, not a synchronisation: nothing waits for it
unless the process hangs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tests.zygote import Zygote, run_child, this_process_zygote

SECONDS = 30.0  # generous under a loaded 2-core CI machine; a hang is minutes, not seconds
MEMORY_MB = 400  # peak RSS a bounded read may reach
ADDRESS_SPACE_MB = 2048  # hard guard so a runaway cannot take the machine down


@dataclass
class Bounded:
    rc: int
    out: str
    err: str
    seconds: float
    peak_mb: float
    killed: bool
    forked: bool  # run by a fork of the zygote (False: a fresh interpreter)

    def __str__(self) -> str:  # shown by pytest when an assertion fails
        return f"rc={self.rc} {self.seconds:.1f}s {self.peak_mb:.0f}MB killed={self.killed} forked={self.forked}\nstdout: {self.out[:2000]!r}\nstderr: {self.err[:2000]!r}"


def run_bounded(
    *args: str,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    seconds: float = SECONDS,
    module: str = "tsbrunbook",
    fresh: bool | None = None,
    zygote: Callable[[], Zygote] = this_process_zygote,
) -> Bounded:
    """Run `python -m tsbrunbook ARGS` and measure this one child's wall time and peak RSS.

    The child is started by this test process's zygote (tests/zygote.py): forked from an
    interpreter that has imported the command line, or a fresh interpreter exec'd from it when
    `fresh` is true, when `env` changes how the interpreter starts (PYTHON*, LANG, LC_*), or, by
    default, when TSBRUNBOOK_TEST_SPAWN=1. Either way it is a process of its own, bounded by
    `seconds` and ADDRESS_SPACE_MB. The harness's own tests run another `module`, and a zygote
    of their own."""
    ran = run_child(
        args,
        module=module,
        stdin=stdin,
        env=env,
        cwd=cwd,
        seconds=seconds,
        address_space=ADDRESS_SPACE_MB * 1024 * 1024,
        fresh=fresh,
        zygote=zygote,
    )
    return Bounded(
        rc=ran.exit.rc,
        out=ran.out.decode("utf-8", "replace"),
        err=ran.err.decode("utf-8", "replace"),
        seconds=ran.exit.seconds,
        peak_mb=ran.exit.peak_kb / 1024,  # Linux reports KiB
        killed=ran.exit.killed,
        forked=ran.exit.forked,
    )


def _bounded(result: Bounded) -> None:
    assert not result.killed, f"still running after {SECONDS}s\n{result}"
    assert result.peak_mb < MEMORY_MB, (
        f"peak RSS {result.peak_mb:.0f} MB ≥ {MEMORY_MB} MB\n{result}"
    )
    assert "Traceback" not in result.err, str(result)


def _clean(text: str) -> bool:
    return not any((ord(ch) < 32 and ch not in "\n\t") or 0x7F <= ord(ch) < 0xA0 for ch in text)


def refused(result: Bounded, *names: str) -> str:
    """Exit 2 with one clean line naming each of `names`; the line."""
    _bounded(result)
    assert result.rc == 2, str(result)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, str(result)
    line = lines[0]
    assert line.startswith("tsbrunbook"), str(result)
    assert _clean(line), f"control character in {line!r}"
    for name in names:
        assert name in line, f"{name!r} not in {line!r}"
    return line


def accepted(result: Bounded) -> Bounded:
    """Exit 0 within the bounds, nothing on stdout or stderr that could drive the terminal."""
    _bounded(result)
    assert result.rc == 0, str(result)
    assert _clean(result.out.replace("\r", "")), "control character on stdout"
    return result
