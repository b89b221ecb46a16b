"""Who is acting: the author stored on every event, the same for the CLI and the TUI.

`TSBRUNBOOK_USER` names the person (a team sets it to the name colleagues know them by); else
the login name at the short host name (`alice@laptop`), so two people sharing a login on
different machines stay apart. The author is shown to everyone working the incident, so a
`TSBRUNBOOK_USER` that could drive a terminal, disguise itself as another name (bidirectional
overrides, zero-width characters) or flood a line is refused, like such text in an estate file;
the login name and host, which the person did not choose for us, are cleaned instead.
"""

from __future__ import annotations

import getpass
import os
import platform
from collections.abc import Mapping

from .errors import UserError
from .runbooks.textrules import describe_character
from .text import display, one_line

USER_ENV = "TSBRUNBOOK_USER"
MAX_AUTHOR = 64  # characters: a name, not a paragraph (and it fits a timeline line)


def current_actor(env: Mapping[str, str] | None = None) -> str:
    """The author of what this process records: $TSBRUNBOOK_USER (UserError when it holds a
    control or invisible character, or is longer than MAX_AUTHOR), else login@host."""
    env = os.environ if env is None else env
    given = env.get(USER_ENV, "").strip()
    if given:
        return checked_author(given)
    return _login_at_host()


def checked_author(name: str) -> str:
    """`name` as an author, or UserError saying in one line what is wrong with it."""
    bad = next((ch for ch in name if display(ch) != ch), None)
    if bad is not None:
        raise UserError(
            f"{USER_ENV} contains {describe_character(bad)}",
            "set it to a plain name such as alice: it is shown to everyone on the incident",
        )
    if len(name) > MAX_AUTHOR:
        raise UserError(
            f"{USER_ENV} is {len(name)} characters long, more than {MAX_AUTHOR}",
            "set it to a plain name such as alice",
        )
    return name


def _login_at_host() -> str:
    try:
        login = getpass.getuser()
    except Exception:  # noqa: BLE001 — no login name is not worth failing an action for
        login = ""
    host = platform.node().split(".")[0]  # the host name ("" if unknown), without the network
    login, host = one_line(login, MAX_AUTHOR // 2), one_line(host, MAX_AUTHOR // 2)
    return f"{login}@{host}" if login and host else login or host


def shown_author(actor: str) -> str:
    """A stored author as shown: one clean line, cut to MAX_AUTHOR (stores copied from elsewhere
    or written by other programs may hold anything)."""
    return one_line(actor, MAX_AUTHOR)
