"""`--database-url URL` on every command: before or after the subcommand, the same as
TSBRUNBOOK_DATABASE_URL and taking precedence over it; a URL holding a password is refused
without being shown (argv is visible to every user through `ps`)."""

from __future__ import annotations

import pytest

from tests.pg_server import PASSWORD, PASSWORD_ROLE
from tests.test_incident_cli import ID_RE, ok
from tsbrunbook.store.select import DATABASE_URL_ENV


@pytest.fixture
def team_url(pg_store_factory):
    return pg_store_factory().location


@pytest.mark.parametrize("where", ["before", "after"])
def test_the_option_selects_the_team_store_on_either_side_of_the_command(cli, team_url, where):
    def run(*args: str):
        option = ("--database-url", team_url)
        if where == "before":
            return cli(*option, *args)
        return cli(*args, *option)

    incident = ok(run("incident", "start", "team incident")).out.strip()
    assert ID_RE.fullmatch(incident)
    listed = ok(run("incident", "list")).out
    assert incident in listed
    # Not in the local SQLite store: without the option, the incident is unknown.
    assert incident not in ok(cli("incident", "list")).out
    status = ok(run("store", "status")).out
    assert "PostgreSQL" in status


def test_the_option_takes_precedence_over_the_environment(cli, team_url, monkeypatch):
    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql://nobody@127.0.0.1:1/none")
    incident = ok(cli("--database-url", team_url, "incident", "start", "option wins")).out.strip()
    assert incident in ok(cli("incident", "list", f"--database-url={team_url}")).out


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://{PASSWORD_ROLE}:{PASSWORD}@127.0.0.1:5432/db",
        f"postgres://127.0.0.1/db?password={PASSWORD}&sslmode=disable",
    ],
)
@pytest.mark.parametrize("where", ["before", "after", "equals"])
def test_a_password_on_the_command_line_is_refused_unseen(cli, url, where):
    if where == "before":
        result = cli("--database-url", url, "incident", "list")
    elif where == "after":
        result = cli("incident", "list", "--database-url", url)
    else:
        result = cli(f"--database-url={url}", "incident", "list")
    assert result.rc == 2 and result.out == ""
    assert result.err.count("\n") == 1
    assert PASSWORD not in result.err
    assert "--database-url" in result.err and "~/.pgpass" in result.err
    assert "PGPASSWORD" in result.err and "tsbrunbook secret set database-password" in result.err


def test_a_usage_error_never_echoes_the_password(cli):
    url = f"postgresql://{PASSWORD_ROLE}:{PASSWORD}@127.0.0.1:5432/db"
    result = cli("incident", "list", "--database-url", url, "--no-such-option")
    assert result.rc == 2 and PASSWORD not in result.err
