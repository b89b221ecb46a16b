"""`tsbrunbook incident …`: start, list, mark down/up, work steps, notes, show, export, rename, close.

Every change is appended to the event store (durably) before the command prints anything, so
an alert hook or a script can drive an incident one command at a time. An incident keeps the
estate it was started with: each later command loads that estate again.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ..domain.author import shown_author
from ..domain.event_text import by_author, event_text
from ..domain.incident import STEP_ACTIONS, ChecklistView, Event, IncidentSession, in_progress
from ..domain.incident_json import incident_dict
from ..domain.incident_markdown import incident_markdown
from ..domain.incident_queries import all_views, escalation_points, find_step
from ..domain.text import one_line
from ..domain.timefmt import duration, span, stamp
from ..output import check_output, write_atomically
from .runbook_cmds import impact_text
from .text import json_text, out, table

if TYPE_CHECKING:
    from ..workspace import Workspace

STATE_WORDS = {
    "done": "done",
    "pending": "",
    "skipped": "SKIPPED",
    "failed": "FAILED",
    "blocked": "BLOCKED",
}
RECENT_EVENTS = 15


def add_parsers(sub: argparse._SubParsersAction, estate_arg) -> None:
    p = sub.add_parser(
        "incident",
        help="record and work an incident (start, down/up, step, claim, note, show, export, close)",
        description="Record an incident as timestamped events in a crash-safe store and work its checklists.",
    )
    isub = p.add_subparsers(dest="incident_command", metavar="ACTION", required=True)

    a = isub.add_parser(
        "start",
        help="start an incident; prints its id",
        description="Start an incident on an estate and print its id.",
    )
    a.add_argument("title", metavar="TITLE", help="a few words on what is happening")
    estate_arg(a)
    a.set_defaults(func=cmd_start)

    a = isub.add_parser(
        "list",
        help="list open incidents (--all: closed ones too)",
        description="List incidents, newest first.",
    )
    a.add_argument("--all", action="store_true", help="include closed incidents")
    a.add_argument("--format", choices=("table", "json"), default="table")
    a.set_defaults(func=cmd_list)

    for action, verb in (("down", "down"), ("up", "up again")):
        a = isub.add_parser(
            action,
            help=f"mark components {verb}",
            description=f"Mark components {verb} (ids from `tsbrunbook components`).",
        )
        a.add_argument("id", metavar="ID", help="incident id")
        a.add_argument("components", nargs="+", metavar="COMPONENT")
        a.set_defaults(func=cmd_mark, mark=action)

    a = isub.add_parser(
        "step",
        help="mark a checklist step done, skipped, failed, blocked or reset",
        description="Record the outcome of a checklist step. A skip needs a reason (--note).",
    )
    a.add_argument("id", metavar="ID", help="incident id")
    a.add_argument(
        "ref",
        metavar="STEP-REF",
        help="INSTANCE/PHASE/STEP, e.g. workload-cluster-failure@eu-west/recovery/confirm-cluster-back",
    )
    a.add_argument(
        "step_action", metavar="ACTION", choices=tuple(STEP_ACTIONS), help="|".join(STEP_ACTIONS)
    )
    a.add_argument("--note", default="", metavar="TEXT", help="why (required for skip)")
    a.set_defaults(func=cmd_step)

    a = isub.add_parser(
        "claim",
        help="say you are working on a step (shown as “in progress — you”)",
        description="Claim a checklist step, so the others working the incident leave it "
        "alone. A step someone else holds is refused, naming them, unless --take. Marking the "
        "step done, skipped or failed releases the claim.",
    )
    a.add_argument("id", metavar="ID", help="incident id")
    a.add_argument("ref", metavar="STEP-REF")
    a.add_argument("--take", action="store_true", help="take the step over from whoever holds it")
    a.set_defaults(func=cmd_claim)

    a = isub.add_parser(
        "release",
        help="stop working on a step you claimed, without an outcome",
        description="Release a step you claimed (only its holder can).",
    )
    a.add_argument("id", metavar="ID", help="incident id")
    a.add_argument("ref", metavar="STEP-REF")
    a.set_defaults(func=cmd_release)

    a = isub.add_parser(
        "note",
        help="add a timestamped note",
        description="Add a timestamped note to the incident (or to one step).",
    )
    a.add_argument("id", metavar="ID", help="incident id")
    a.add_argument("text", metavar="TEXT")
    a.add_argument("--step", metavar="REF", help="attach the note to this step")
    a.set_defaults(func=cmd_note)

    a = isub.add_parser(
        "escalate",
        help="record that Tetrate support was engaged for a step",
        description="Record that an escalation was raised (for a step's escalation point).",
    )
    a.add_argument("id", metavar="ID", help="incident id")
    a.add_argument("ref", metavar="STEP-REF")
    a.add_argument("--case", default="", metavar="NUMBER", help="the support case number")
    a.set_defaults(func=cmd_escalate)

    a = isub.add_parser(
        "show",
        help="the incident now: down, impact, checklists, timeline",
        description="Show the incident as folded from its events.",
    )
    a.add_argument("id", metavar="ID", help="incident id")
    a.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    a.set_defaults(func=cmd_show)

    a = isub.add_parser(
        "export",
        help="the incident as Markdown (stdout or -o FILE)",
        description="Export the incident as GitHub-flavoured Markdown.",
    )
    a.add_argument("id", metavar="ID", help="incident id")
    a.add_argument(
        "--full",
        action="store_true",
        help="every step of every checklist with its commands, the impact in detail and every "
        "escalation point (default: the summary, the worked steps, the timeline, and the "
        "untouched steps counted per checklist)",
    )
    add_output_args(a)
    a.set_defaults(func=cmd_export)

    a = isub.add_parser(
        "close",
        help="close the incident (no more changes)",
        description="Close the incident. A closed incident takes no more events.",
    )
    a.add_argument("id", metavar="ID", help="incident id")
    a.set_defaults(func=cmd_close)

    a = isub.add_parser(
        "rename",
        help="give the incident a new title (the timeline keeps the old one)",
        description="Retitle the incident. The rename is an event: the timeline keeps both titles.",
    )
    a.add_argument("id", metavar="ID", help="incident id")
    a.add_argument("title", metavar="TITLE", help="the new title")
    a.set_defaults(func=cmd_rename)


# ---------------------------------------------------------------------------------------------
# Commands


def open_incident(workspace: Workspace, raw_id: str) -> IncidentSession:
    """The incident, folded with the estate it was started with; a warning on stderr first when
    the system clock reads earlier than its last event (what is shown or recorded may be off)."""
    session = workspace.open(raw_id)
    warning = workspace.clock_warning(session)
    if warning:
        sys.stderr.write(f"tsbrunbook: warning: {warning}\n")
    return session


def _said(sess: IncidentSession, event: Event, what: str) -> str:
    return f"{sess.id}: {what} (event {event.seq}, {event.at:%H:%M:%S} UTC)"


def cmd_start(args: argparse.Namespace, workspace: Workspace) -> int:
    out(workspace.start(args.title, args.estate).id)
    return 0


def cmd_list(args: argparse.Namespace, workspace: Workspace) -> int:
    items = workspace.summaries(include_closed=args.all)
    if args.format == "json":
        out(json_text([i.to_dict() for i in items]))
        return 0
    if not items:
        out("No incidents." if args.all else "No open incidents (--all shows closed ones too).")
        return 0
    rows = []
    for i in items:
        down = ", ".join(i.down[:2]) + (f" +{len(i.down) - 2}" if len(i.down) > 2 else "")
        state = f"closed {i.closed:%m-%d %H:%M}" if i.closed else "open"
        if i.damaged:
            state = "DAMAGED"  # listed, so nobody thinks it vanished; why goes below the table
        started = f"{i.started:%Y-%m-%d %H:%M}" if i.started else "?"
        rows.append(
            [i.id, i.kind, started, state, str(i.events), down or "—", one_line(i.title, 50)]
        )
    out(table(["ID", "KIND", "STARTED (UTC)", "STATUS", "EVENTS", "DOWN", "TITLE"], rows))
    for i in items:
        if i.damaged:
            out(
                f"{i.id}: damaged: {one_line(i.damaged, 160)}; it cannot be opened, the others are unaffected"
            )
    return 0


def cmd_mark(args: argparse.Namespace, workspace: Workspace) -> int:
    sess = open_incident(workspace, args.id)
    marked = workspace.mark(sess, args.mark, args.components)
    if marked.event is None:
        word = "already down" if args.mark == "down" else "not down"
        out(f"{sess.id}: {word}: {', '.join(args.components)} (nothing recorded)")
        return 0
    out(
        _said(
            sess, marked.event, f"marked {args.mark}: {', '.join(marked.event.data['components'])}"
        )
    )
    for view in marked.new_checklists:
        out(
            f"  new checklist {view.instance}/{view.phase}: {one_line(view.title)} ({len(view.steps)} steps)"
        )
    return 0


def cmd_step(args: argparse.Namespace, workspace: Workspace) -> int:
    sess = open_incident(workspace, args.id)
    event = sess.set_step(args.ref, args.step_action, args.note)
    if event is None:
        state = STEP_ACTIONS[args.step_action]
        out(f"{sess.id}: {args.ref} is already {state} (nothing recorded)")
        return 0
    out(_said(sess, event, f"{args.ref} → {event.data['state']}"))
    return 0


def cmd_claim(args: argparse.Namespace, workspace: Workspace) -> int:
    sess = open_incident(workspace, args.id)
    event = sess.claim(args.ref, take=args.take)
    if event is None:
        out(f"{sess.id}: {args.ref} is already yours (nothing recorded)")
        return 0
    taken = event.data.get("taken_from")
    taken_words = f", taken over from {shown_author(taken)}" if taken else ""
    out(_said(sess, event, f"claimed {args.ref}{taken_words}"))
    return 0


def cmd_release(args: argparse.Namespace, workspace: Workspace) -> int:
    sess = open_incident(workspace, args.id)
    event = sess.release(args.ref)
    if event is None:
        out(f"{sess.id}: {args.ref} is not claimed (nothing recorded)")
        return 0
    out(_said(sess, event, f"released {args.ref}"))
    return 0


def cmd_note(args: argparse.Namespace, workspace: Workspace) -> int:
    sess = open_incident(workspace, args.id)
    event = sess.add_note(args.text, args.step)
    out(_said(sess, event, "note added" + (f" on {args.step}" if args.step else "")))
    return 0


def cmd_escalate(args: argparse.Namespace, workspace: Workspace) -> int:
    from ..domain.escalation import NOT_AN_ESCALATION_POINT

    sess = open_incident(workspace, args.id)
    event = sess.raise_escalation(args.ref, args.case)
    step = find_step(all_views(sess.state, sess.engine), args.ref)
    if step is not None and not step.step.escalation:  # any step may be escalated: say so, keep it
        sys.stderr.write(
            f"tsbrunbook: warning: {args.ref} is {NOT_AN_ESCALATION_POINT} (recorded)\n"
        )
    case = f", case {one_line(args.case, 40)}" if args.case else ""
    out(_said(sess, event, f"escalation raised on {args.ref}{case}"))
    return 0


def cmd_close(args: argparse.Namespace, workspace: Workspace) -> int:
    sess = open_incident(workspace, args.id)
    event = sess.close()
    state = sess.state
    # `0s ⚠` if the clock went back
    length = span(state.started_at, event.at) if state.started_at else duration(0)
    out(_said(sess, event, f"closed after {length}"))
    return 0


def cmd_rename(args: argparse.Namespace, workspace: Workspace) -> int:
    sess = open_incident(workspace, args.id)
    event = workspace.rename(sess, args.title)
    if event is None:
        out(f"{sess.id}: already titled “{one_line(sess.state.title, 80)}” (nothing recorded)")
        return 0
    out(_said(sess, event, f"renamed to “{one_line(sess.state.title, 80)}”"))
    return 0


def cmd_show(args: argparse.Namespace, workspace: Workspace) -> int:
    sess = open_incident(workspace, args.id)
    if args.format == "json":
        out(json_text(incident_dict(sess.state, sess.engine)))
    elif args.format == "markdown":
        out(incident_markdown(sess.state, sess.engine).rstrip())
    else:
        out(show_text(sess))
    return 0


def cmd_export(args: argparse.Namespace, workspace: Workspace) -> int:
    target = args.output
    if target:
        check_output(target, force=args.force, example_name=args.id.upper() + ".md")
    sess = open_incident(workspace, args.id)
    text = workspace.export_markdown(sess, full=args.full)
    if not target:
        out(text.rstrip())
        return 0
    write_atomically(target, text, force=args.force)
    out(f"{sess.id}: exported to {one_line(target)}")
    return 0


def add_output_args(parser: argparse.ArgumentParser) -> None:
    """`-o FILE` and `--force`, the same for every command that writes a file (see output.py)."""
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write here instead of stdout (atomically; never a device, a database or a file in the data directory)",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace FILE if it exists (a regular file only)"
    )


# ---------------------------------------------------------------------------------------------
# `incident show` as text


def show_text(sess: IncidentSession) -> str:
    state, engine = sess.state, sess.engine
    meta = state.meta
    status = f"closed {stamp(state.closed_at)}" if state.closed else "open"
    out = [
        f"{state.id}  {one_line(state.title)}",
        f"{state.kind}, {status}; started {stamp(state.started_at)}, {duration(state.elapsed())}{'' if state.closed else ' so far'}",
        (
            f"Runbooks: {engine.pack.name} {one_line(meta.get('pack_version', '?'))} ({one_line(meta.get('pack_checksum', '?'))})   "
            f"Estate file: {one_line(meta.get('estate_file') or 'bundled demo')}"
        ),
        "",
        impact_text(engine, sess.impact()),
    ]
    if state.down:
        out.append(
            "Down since: "
            + ", ".join(f"{cid} {since:%H:%M:%S}" for cid, since in state.down.items())
        )
    views = all_views(state, engine)
    shown = [
        v
        for v in views
        if v.scenario is not None or any(sv.state.state != "pending" for sv in v.steps)
    ]
    for view in shown:
        out += ["", _checklist_text(view)]
    points = escalation_points(state, engine, views)
    if points:
        out += ["", "Escalation points:"]
        out += [
            f"  {p.ref}: "
            + (
                f"raised {stamp(p.raised)}"
                + (f", case {', '.join(one_line(c, 40) for c in p.cases)}" if p.cases else "")
                if p.raised
                else "not raised"
            )
            for p in points
        ]
    if state.notes:
        out += ["", "Notes:"]
        out += [
            f"  {n.at:%H:%M:%S} "
            + (f"[{n.ref}] " if n.ref else "")
            + (f"({shown_author(n.actor)}) " if shown_author(n.actor) else "")
            + one_line(n.text, 200)
            for n in state.notes
        ]
    recent = state.timeline[-RECENT_EVENTS:]
    hidden = len(state.timeline) - len(recent)
    out += [
        "",
        "Timeline"
        + (
            f" (last {len(recent)} of {len(state.timeline)}; --format json has all):"
            if hidden
            else ":"
        ),
    ]
    for event in recent:
        text = event_text(event)
        what, details = text.what, text.details
        out.append(
            f"  {event.seq:>3} {event.at:%H:%M:%S} {what}"
            + (f": {one_line(details, 160)}" if details else "")
            + by_author(event)
        )
    return "\n".join(out)


def _checklist_text(view: ChecklistView) -> str:
    done = sum(1 for sv in view.steps if sv.state.state == "done")
    where = (
        ""
        if view.scenario is None
        else (" (matches now)" if view.active else " (no longer matches)")
    )
    head = f"{view.instance}/{view.phase}: {one_line(view.title)} — {done}/{len(view.steps)} done{where}"
    if view.not_documented:
        return head + "\n  (the guide documents no steps for this phase)"
    rows = []
    for sv in view.steps:
        st = sv.state
        mark = "[x]" if st.state == "done" else "[ ]"
        worked = st.at is not None and st.state != "pending"
        when = f"{st.at:%H:%M:%S}" if worked and st.at else ""
        by = shown_author(st.actor) if worked else ""
        note = one_line(st.note, 60) if st.note else ""
        state = " · ".join(w for w in (STATE_WORDS.get(st.state, st.state), in_progress(st)) if w)
        rows.append([f"  {mark}", sv.step.id, state, when, by, note])
    return (
        head
        + "\n"
        + "\n".join(table(["", "STEP", "STATE", "AT", "BY", "NOTE"], rows).splitlines()[2:])
    )
