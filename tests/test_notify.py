"""Chat updates: which events become which messages, and delivery to real webhook servers on
127.0.0.1 (success, HTTP 500, timeout, connection refused) without ever blocking the caller."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest

from tests.http_servers import closed_port, drip_headers, serve, serve_raw, stall_after_headers
from tsbrunbook.domain.chat import chat_enabled, messages, set_chat, slack_text
from tsbrunbook.domain.escalation import record_expired_timers
from tsbrunbook.integrations import secrets
from tsbrunbook.integrations.http import HttpFailure
from tsbrunbook.integrations.notify import Notifier, post_text
from tsbrunbook.workspace import Workspace

TOKEN = "T0001/B0002/zz-planted-webhook-token-9"
MP = "management-plane-failure"


@pytest.fixture
def session():
    return Workspace().start("Checkout <errors> & timeouts")


def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def test_status_changes_become_short_messages_only_while_opted_in(session):
    s, sid = session, session.id
    s.mark_down(["postgres"])  # before opting in: not posted
    set_chat(s, True)
    assert set_chat(s, True) is None and chat_enabled(s.state)
    s.mark_down(["management-plane"])
    s.mark_down(["management-cluster"])  # the broader scenario takes over: not a recovery
    s.add_note("looking at the LB")  # notes and steps are not broadcast
    s.set_step(
        f"management-cluster-failure/recovery/{s.engine.pack.scenario('management-cluster-failure').recovery.steps[0].id}",
        "done",
    )
    s.mark_up(["management-cluster"])
    s.raise_escalation(f"{MP}/restoration/engage-tetrate-support", "TS-1")
    record_expired_timers(s, s.state.instances[MP] + timedelta(minutes=31))
    s.mark_up(["management-plane", "postgres"])
    set_chat(s, False)
    s.mark_down(["postgres"])  # after opting out: not posted
    set_chat(s, True)
    s.close()
    texts = [t for _, t in messages(s.state, s.engine)]
    assert texts == [
        f"📣 [{sid}] chat updates on for “Checkout <errors> & timeouts”. Down now: postgres",
        f"🔴 [{sid}] marked down: management-plane. Scenario: The management plane fails",
        f"🔴 [{sid}] marked down: management-cluster. Scenario: The management cluster fails",
        f"🟢 [{sid}] marked up: management-cluster. Recovered: The management cluster fails. Now matching: The management plane fails. Still down: postgres, management-plane",
        f"🆘 [{sid}] escalation raised to support: {MP}/restoration/engage-tetrate-support, case TS-1",
        f"⏰ [{sid}] escalation timer passed (30m 00s) for The management plane fails without recovery",
        f"⏰ [{sid}] escalation timer passed (30m 00s) for The TSB PostgreSQL database fails without recovery",
        f"🟢 [{sid}] marked up: management-plane, postgres. Recovered: The management plane fails, The TSB PostgreSQL database fails. Nothing is marked down.",
        f"🔕 [{sid}] chat updates off",
        f"📣 [{sid}] chat updates on for “Checkout <errors> & timeouts”. Down now: postgres",
        texts[-1],
    ]
    assert texts[-1].startswith(f"🏁 [{sid}] incident closed after ")


def test_slack_text_is_one_escaped_line():
    assert slack_text("a <b> & c\n\x1b[2Jd") == "a &lt;b&gt; &amp; c [2Jd"
    assert len(slack_text("x" * 5000)) == 600


def start_notifier(session, url: str, **kw) -> Notifier:
    secrets.set_secret("webhook-url", url)
    set_chat(session, True)
    notifier = Notifier(session.engine, session.id, **{"timeout": 1.0, "backoff": 0.01, **kw})
    notifier.start(session.state)  # the `chat on` event is older than the start: not resent
    return notifier


def test_delivery_in_order_with_json_text(session):
    session.mark_down(["postgres"])
    with serve() as (base, rec):
        notifier = start_notifier(session, f"{base}/services/{TOKEN}")
        session.mark_down(["management-plane"])
        session.add_note("not posted")
        assert notifier.submit(session.state) == 1
        session.mark_up(["postgres"])
        session.close()
        assert notifier.submit(session.state) == 2
        assert notifier.submit(session.state) == 0  # each event once
        assert notifier.wait_idle(5)
        notifier.close()
    assert [r["path"] for r in rec.requests] == [f"/services/{TOKEN}"] * 3
    assert all(r["headers"]["Content-Type"] == "application/json" for r in rec.requests)
    assert [list(json.loads(r["body"])) for r in rec.requests] == [["text"]] * 3
    assert [t.split(" ")[0] for t in rec.texts] == ["🔴", "🟢", "🏁"]
    status = notifier.status
    assert (status.delivered, status.pending, status.failed, status.last_error) == (3, 0, 0, "")
    assert status.line == "chat: 3 sent"


def test_http_500_is_retried_with_backoff_then_delivered(session):
    with serve(fail_first=2) as (base, rec):
        notifier = start_notifier(session, f"{base}/services/{TOKEN}")
        session.mark_down(["management-plane"])
        notifier.submit(session.state)
        assert notifier.wait_idle(5)
        notifier.close()
    assert [r["status"] for r in rec.requests] == [500, 500, 200]
    assert (
        notifier.status.delivered == 1
        and notifier.status.failed == 0
        and notifier.status.last_error == ""
    )


def test_http_500_forever_gives_up_counts_it_and_moves_on(session):
    with serve(status=500) as (base, rec):
        notifier = start_notifier(session, f"{base}/services/{TOKEN}", max_attempts=3)
        session.mark_down(["management-plane"])
        session.mark_up(["management-plane"])
        notifier.submit(session.state)
        assert notifier.wait_idle(5)
        notifier.close()
        assert len(rec.requests) == 6  # 3 attempts for each of the 2 messages
    status = notifier.status
    assert (status.delivered, status.failed, status.pending) == (0, 2, 0)
    assert status.last_error == "webhook: HTTP 500 (gave up after 3 attempts)"
    assert status.line == "chat: 2 failed — webhook: HTTP 500 (gave up after 3 attempts)"
    assert [e.type for e in Workspace().open(session.id).state.timeline] == [
        "started",
        "chat",
        "down",
        "up",
    ]


def test_a_client_error_is_not_retried(session):
    with serve(status=404) as (base, rec):
        notifier = start_notifier(session, f"{base}/services/{TOKEN}")
        session.mark_down(["management-plane"])
        notifier.submit(session.state)
        assert notifier.wait_idle(5)
        notifier.close()
    assert (
        len(rec.requests) == 1
        and notifier.status.last_error == "webhook: HTTP 404 (gave up after 1 attempt)"
    )


def test_a_hanging_webhook_never_blocks_the_caller(session):
    with serve(delay=10) as (base, _):
        # A long backoff: the status is read while the notifier waits to retry, whatever the
        # machine's load (with the default 0.01 s that wait could pass unseen).
        notifier = start_notifier(
            session, f"{base}/services/{TOKEN}", timeout=0.3, max_attempts=2, backoff=30.0
        )
        timings = []
        for cid in ("management-plane", "postgres", "elasticsearch"):
            session.mark_down([cid])
            t0 = time.perf_counter()
            notifier.submit(session.state)
            timings.append(time.perf_counter() - t0)
        assert max(timings) < 0.05, timings
        wait_for(lambda: "retrying in" in notifier.status.line)
        assert notifier.status.pending == 3
        assert notifier.status.last_error == "webhook: timed out after 0.3 s (attempt 1 of 2)"
        assert (
            "chat: 3 pending — last attempt timed out after 0.3 s; retrying in "
            in notifier.status.line
        )
        t0 = time.perf_counter()
        notifier.close(timeout=0.1)
        assert time.perf_counter() - t0 < 1.0
    # The incident lost nothing.
    assert [e.type for e in Workspace().open(session.id).state.timeline] == [
        "started",
        "chat",
        "down",
        "down",
        "down",
    ]
    assert TOKEN not in notifier.status.last_error


def test_connection_refused_is_reported_and_retried(session):
    notifier = start_notifier(session, f"{closed_port()}/services/{TOKEN}", max_attempts=2)
    session.mark_down(["management-plane"])
    t0 = time.perf_counter()
    notifier.submit(session.state)
    assert time.perf_counter() - t0 < 0.05
    assert notifier.wait_idle(5)
    notifier.close()
    assert notifier.status.failed == 1
    assert notifier.status.last_error == "webhook: connection refused (gave up after 2 attempts)"


def test_no_webhook_url_or_no_keyring_is_shown_not_retried(session, memory_keyring):
    set_chat(session, True)
    notifier = Notifier(session.engine, session.id, backoff=0.01)
    notifier.start(session.state)
    session.mark_down(["management-plane"])
    notifier.submit(session.state)
    assert notifier.wait_idle(5)
    assert (
        notifier.status.last_error
        == "webhook: no webhook URL (run `tsbrunbook secret set webhook-url`) (gave up after 1 attempt)"
    )
    import keyring
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())
    session.mark_up(["management-plane"])
    notifier.submit(session.state)
    assert notifier.wait_idle(5)
    notifier.close()
    assert notifier.status.last_error.startswith(
        "webhook: no usable keyring backend (keyring.backends.fail.Keyring"
    )
    assert notifier.status.failed == 2


def test_submit_needs_start(session):
    with pytest.raises(RuntimeError):
        Notifier(session.engine, session.id).submit(session.state)


def test_cli_chat_on_off(cli, session, memory_keyring):
    on = cli("incident", "chat", session.id, "on")
    assert on.rc == 0 and on.out.startswith(f"{session.id}: chat updates on (event 2,")
    assert "no webhook URL is set yet (run `tsbrunbook secret set webhook-url`)" in on.err
    again = cli("incident", "chat", session.id, "on")
    assert again.out.strip() == f"{session.id}: chat updates already on (nothing recorded)"
    secrets.set_secret("webhook-url", f"https://hooks.example.test/services/{TOKEN}")
    assert cli("incident", "chat", session.id, "off").rc == 0
    back = cli("incident", "chat", session.id, "on")
    assert (
        "the TUI posts the status changes while it is open" in back.err
        and TOKEN not in back.err + back.out
    )
    cli("incident", "close", session.id)
    closed = cli("incident", "chat", session.id, "off")
    assert closed.rc == 2 and "is closed" in closed.err
    bad = cli("incident", "chat", session.id, "maybe")
    assert bad.rc == 2 and "invalid choice" in bad.err
    assert [e.data for e in Workspace().open(session.id).state.timeline if e.type == "chat"] == [
        {"enabled": True},
        {"enabled": False},
        {"enabled": True},
    ]


# ---------------------------------------------------------------------------------------------
# A stalled webhook: a total deadline per POST, the stall in the status line, backoff on a clock


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


@pytest.mark.parametrize(
    "respond", [drip_headers(0.2), stall_after_headers()], ids=["drip", "stall-after-headers"]
)
def test_a_webhook_post_has_a_total_deadline(respond):
    with serve_raw(respond) as server:
        started = time.monotonic()
        with pytest.raises(HttpFailure) as info:
            post_text(f"{server.url}/services/{TOKEN}", "hello", timeout=1.0)
        took = time.monotonic() - started
    assert info.value.message == "timed out after 1 s" and info.value.kind == "timeout"
    assert took < 1.0 + 3.0, took


def test_a_stall_and_the_backoff_schedule_show_in_the_status_line(session):
    """Three messages queued; the webhook times out five times, then answers. No real waiting:
    the post is a fake that moves the clock by its deadline, the sleeper moves it by the delay."""
    clock = FakeClock()
    attempts: list[str] = []
    seen: list[tuple[float, str]] = []  # (delay asked for, status line while waiting)

    def post(url: str, text: str, timeout: float) -> None:
        attempts.append(text)
        clock.advance(timeout)
        if len(attempts) <= 5:
            raise HttpFailure(f"timed out after {timeout:g} s", kind="timeout")

    def sleep(delay: float) -> None:
        seen.append((delay, notifier.status.line))
        clock.advance(delay)

    secrets.set_secret("webhook-url", f"https://hooks.example.test/services/{TOKEN}")
    set_chat(session, True)
    notifier = Notifier(
        session.engine,
        session.id,
        timeout=10,
        backoff=5,
        max_backoff=40,
        max_attempts=8,
        clock=clock,
        sleep=sleep,
        post=post,
    )
    notifier.start(session.state)
    for cid in ("management-plane", "postgres", "elasticsearch"):
        session.mark_down([cid])
    assert notifier.submit(session.state) == 3
    assert notifier.wait_idle(5)
    notifier.close()
    assert [d for d, _ in seen] == [5, 10, 20, 40, 40]  # doubling, capped at max_backoff
    assert (
        seen[0][1]
        == "chat: 3 pending — last attempt timed out after 10 s; retrying in 5 s (1 of 8 attempts made)"
    )
    assert (
        seen[2][1]
        == "chat: 3 pending — last attempt timed out after 10 s; retrying in 20 s (3 of 8 attempts made)"
    )
    assert (
        seen[4][1]
        == "chat: 3 pending — last attempt timed out after 10 s; retrying in 40 s (5 of 8 attempts made)"
    )
    assert len(attempts) == 8 and attempts[:6] == [attempts[0]] * 6  # the head message, in order
    assert notifier.status.line == "chat: 3 sent" and notifier.status.last_error == ""
    assert all(TOKEN not in line for _, line in seen)


def test_an_attempt_in_flight_for_long_is_shown_not_silent(session):
    clock = FakeClock()
    release = threading.Event()

    def post(url: str, text: str, timeout: float) -> None:
        release.wait(10)  # the test releases it as soon as it has seen the status

    secrets.set_secret("webhook-url", f"https://hooks.example.test/services/{TOKEN}")
    set_chat(session, True)
    notifier = Notifier(session.engine, session.id, timeout=10, clock=clock, post=post)
    notifier.start(session.state)
    session.mark_down(["management-plane"])
    notifier.submit(session.state)
    wait_for(lambda: notifier.status.in_flight_for is not None)
    assert notifier.status.line == "chat: 1 pending"  # a fresh attempt is not a stall yet
    clock.advance(7)
    assert (
        notifier.status.line
        == "chat: 1 pending — attempt 1 of 5: no answer for 7 s yet (deadline 10 s)"
    )
    release.set()
    assert notifier.wait_idle(5)
    notifier.close()
    assert notifier.status.line == "chat: 1 sent"


def test_a_real_stalled_webhook_is_reported_then_given_up(session):
    """Against a real dripping server: each attempt ends at its deadline, the waiting between
    attempts is a fake sleeper (it records the status line instead of sleeping)."""
    seen: list[str] = []
    with serve_raw(drip_headers(0.2)) as server:
        secrets.set_secret("webhook-url", f"{server.url}/services/{TOKEN}")
        set_chat(session, True)
        notifier = Notifier(
            session.engine,
            session.id,
            timeout=1.0,
            max_attempts=2,
            sleep=lambda delay: seen.append(notifier.status.line),
        )
        notifier.start(session.state)
        session.mark_down(["management-plane"])
        started = time.monotonic()
        notifier.submit(session.state)
        assert notifier.wait_idle(2 * 1.0 + 3.0)
        took = time.monotonic() - started
        notifier.close()
    assert took < 2 * 1.0 + 3.0, took
    assert seen == [
        "chat: 1 pending — last attempt timed out after 1 s; retrying in 1 s (1 of 2 attempts made)"
    ]
    assert (
        notifier.status.line
        == "chat: 1 failed — webhook: timed out after 1 s (gave up after 2 attempts)"
    )
