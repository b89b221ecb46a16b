"""`incident rename ID TITLE`: a `renamed` event; the state's title follows it, the timeline
keeps both titles, and the CLI says what happened."""

from __future__ import annotations

import json


def start(cli, title: str = "checkout slow") -> str:
    result = cli("incident", "start", title)
    assert result.rc == 0, result.err
    return result.out.strip()


def test_rename_changes_the_title_and_the_timeline_keeps_both(cli):
    incident = start(cli)
    result = cli("incident", "rename", incident, "eu-west   edge down")
    assert result.rc == 0, result.err
    assert "renamed to “eu-west edge down”" in result.out
    shown = json.loads(cli("incident", "show", incident, "--format", "json").out)
    assert shown["title"] == "eu-west edge down"
    markdown = cli("incident", "export", incident).out
    assert "| started | incident: checkout slow |" in markdown
    assert "| renamed | eu-west edge down |" in markdown


def test_the_same_title_records_nothing(cli):
    incident = start(cli)
    assert "nothing recorded" in cli("incident", "rename", incident, " checkout  slow ").out
    shown = json.loads(cli("incident", "show", incident, "--format", "json").out)
    assert [e["type"] for e in shown["timeline"]] == ["started"]


def test_a_closed_incident_is_not_renamed(cli):
    incident = start(cli)
    assert cli("incident", "close", incident).rc == 0
    result = cli("incident", "rename", incident, "later")
    assert result.rc == 2 and "is closed" in result.err


def test_chat_messages_after_a_rename_use_the_new_title(cli):
    from tsbrunbook.domain.chat import MessageBuilder
    from tsbrunbook.workspace import Workspace

    incident = start(cli)
    assert cli("incident", "rename", incident, "edge down").rc == 0
    with Workspace() as workspace:
        session = workspace.open(incident)
        workspace.set_chat(session, True)
        builder = MessageBuilder(session.engine, incident)
        said = [builder.apply(event) for event in session.state.timeline]
    assert "“edge down”" in said[-1] and "checkout slow" not in said[-1]
