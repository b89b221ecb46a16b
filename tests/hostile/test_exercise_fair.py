"""Hostile corpus, issue 13 item 5 (a fair exercise): `exercise finish` given what is not an open
exercise run, and prediction questions the dialog cannot record, huge or disguised.

Each case is one hostile input handed to the real CLI under the harness's time and memory bound."""

from __future__ import annotations

import pytest

from tests.hostile.harness import Bounded, _bounded, refused, run_bounded

EXERCISE = """\
exercise:
  id: drill
  title: A drill
  objectives: [predict]
  duration: 30m
  injects:
    - id: edge
      at: "02:00"
      down: [edge-control-plane/eu-west]
      message: The eu-west edge restarts in a loop.
      predict: {question}
"""


def problems(result: Bounded) -> list[str]:
    """`exercise check` found problems: exit 2, problem lines then the count, all clean."""
    _bounded(result)
    assert result.rc == 2, str(result)
    lines = result.err.strip().splitlines()
    assert lines[-1].endswith("problem(s) in 1 exercise(s)"), str(result)
    for line in lines:
        assert line.isprintable(), f"control character in {line!r}"
    return lines[:-1]


@pytest.mark.parametrize(
    ("question", "words"),
    [
        ('"What happens to the search service?"', "asks about service 'search'"),
        ('"?"', "asks something the prediction dialog cannot record"),
        ('"' + "Why " * 20000 + '?"', "asks something the prediction dialog cannot record"),
        ('"Which step first?\\u202e\\u001b[2J"', "asks something the prediction dialog"),
        ('"What is the impact? And on storefront?"', "asks about service 'storefront'"),
    ],
    ids=["a-service", "only-a-mark", "huge", "disguised", "a-second-question"],
)
def test_a_question_the_dialog_cannot_record(tmp_path, question, words):
    path = tmp_path / "drill.yaml"
    path.write_text(EXERCISE.format(question=question), encoding="utf-8")
    lines = problems(run_bounded("exercise", "check", str(path)))
    assert len(lines) == 1 and f"{path}:11: " in lines[0] and words in lines[0], lines
    assert len(lines[0]) < 400  # a huge question is not repeated whole


@pytest.fixture
def finished_run(pack):
    from tests.test_exercise import start_run

    _ws, run = start_run(pack)
    run.finish()
    return run.session.id


@pytest.fixture
def incident(pack):
    from tsbrunbook.workspace import Workspace

    return Workspace(pack=pack).start("Checkout down").id


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ("EX-20990101-001", ("unknown incident", "EX-20990101-001")),
        ("EX-\x1b]52;c;aGk=\x07-001", ("unknown incident",)),
        ("EX-" + "9" * 5000, ("unknown incident",)),
        ("finished", ("is finished", "exercise report")),
        ("incident", ("is an incident, not an exercise run",)),
    ],
    ids=["unknown", "escape-sequence", "huge-id", "already-finished", "an-incident"],
)
def test_finish_what_is_not_an_open_run(request, given, words):
    if given in ("finished", "incident"):
        given = request.getfixturevalue("finished_run" if given == "finished" else "incident")
    refused(run_bounded("exercise", "finish", given), *words)
