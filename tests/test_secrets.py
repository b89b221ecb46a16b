"""`tsbrunbook secret …` and integrations.secrets: values only via prompt or stdin, never echoed,
never written anywhere but the keyring; no usable keyring is a clear exit 2, never a fallback."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail, null

from tests.conftest import run_process
from tsbrunbook.integrations import secrets

VALUE = "https://hooks.example.test/services/T000/B000/s3cr3t-t0ken-xyz"


def stdin(monkeypatch, text: str, tty: bool = False) -> None:
    stream = io.StringIO(text)
    stream.isatty = lambda: tty  # type: ignore[method-assign]
    monkeypatch.setattr(sys, "stdin", stream)


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root, with its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_set_from_stdin_list_and_delete(cli, monkeypatch, memory_keyring):
    stdin(monkeypatch, VALUE + "\n")
    result = cli("secret", "set", "webhook-url")
    assert result.rc == 0, result.err
    assert "webhook-url: stored in the keyring (tests.memory_keyring.MemoryKeyring)" in result.out
    assert (
        memory_keyring.values[("tsbrunbook", "webhook-url")] == VALUE
    )  # the newline is not part of it
    listed = cli("secret", "list")
    assert listed.rc == 0
    assert (
        "Keyring backend: tests.memory_keyring.MemoryKeyring (service 'tsbrunbook')" in listed.out
    )
    rows = {line.split()[0]: line.split()[1] for line in listed.out.splitlines()[3:]}
    assert rows == {
        "webhook-url": "yes",
        "tsb-api-user": "no",
        "tsb-api-password": "no",
        "database-password": "no",
    }
    assert VALUE not in listed.out + result.out + result.err + listed.err
    assert (
        cli("secret", "delete", "webhook-url").out.strip()
        == "webhook-url: deleted from the keyring"
    )
    assert (
        cli("secret", "delete", "webhook-url").out.strip()
        == "webhook-url: was not set (nothing deleted)"
    )
    assert memory_keyring.values == {}


def test_list_as_json_has_no_values(cli, memory_keyring):
    import json

    memory_keyring.set_password("tsbrunbook", "tsb-api-password", "pa55-w0rd-planted")
    result = cli("secret", "list", "--format", "json")
    data = json.loads(result.out)
    assert {s["name"]: s["set"] for s in data["secrets"]} == {
        "webhook-url": False,
        "tsb-api-user": False,
        "tsb-api-password": True,
        "database-password": False,
    }
    assert "pa55-w0rd-planted" not in result.out


def test_set_from_a_hidden_prompt_on_a_terminal(cli, monkeypatch, memory_keyring):
    prompts: list[str] = []

    def getpass(prompt: str) -> str:
        prompts.append(prompt)
        return "p@ss word "

    stdin(monkeypatch, "", tty=True)
    monkeypatch.setattr("getpass.getpass", getpass)
    result = cli("secret", "set", "tsb-api-password")
    assert result.rc == 0, result.err
    assert prompts == ["Value for tsb-api-password (input hidden): "]
    assert (
        memory_keyring.values[("tsbrunbook", "tsb-api-password")] == "p@ss word "
    )  # passwords kept verbatim


@pytest.mark.parametrize(
    "argv",
    [
        ["webhook-url", VALUE],
        ["webhook-url", "--value", VALUE],
        ["webhook-url", f"--value={VALUE}"],
        [f"--value={VALUE}", "webhook-url"],
    ],
    ids=["positional", "option", "option=", "option-first"],
)
def test_a_value_on_the_command_line_is_refused_and_never_echoed(
    cli, monkeypatch, memory_keyring, argv
):
    stdin(monkeypatch, "should-not-be-read")
    result = cli("secret", "set", *argv)
    assert result.rc == 2
    assert "never taken from the command line" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert VALUE not in result.err + result.out and "s3cr3t" not in result.err
    assert memory_keyring.values == {}


def test_unknown_name_suggests_the_closest_without_echoing(cli, monkeypatch, memory_keyring):
    stdin(monkeypatch, VALUE)
    result = cli("secret", "set", "webhok-url")
    assert result.rc == 2
    assert "unknown secret name" in result.err and "did you mean webhook-url?" in result.err
    assert "webhok-url" not in result.err
    typed_value = cli("secret", "set", "s3cr3t-t0ken-xyz")  # the value typed where the name goes
    assert typed_value.rc == 2 and "s3cr3t" not in typed_value.err
    assert memory_keyring.values == {}


@pytest.mark.parametrize(
    "name,text,message",
    [
        ("webhook-url", "\n", "is empty"),
        ("tsb-api-user", "   ", "is empty"),
        ("webhook-url", "hooks.example.test/T0/planted", "is not an http(s) URL"),
        ("webhook-url", "file:///etc/passwd", "is not an http(s) URL"),
        ("tsb-api-password", "pa55-one\npa55-two\n", "spans several lines"),
    ],
)
def test_bad_values_are_refused_without_being_shown(
    cli, monkeypatch, memory_keyring, name, text, message
):
    stdin(monkeypatch, text)
    result = cli("secret", "set", name)
    assert result.rc == 2 and message in result.err and "nothing was stored" in result.err
    for piece in text.split():
        assert piece not in result.err + result.out
    assert memory_keyring.values == {}


def test_fail_backend_is_a_clear_exit_2_and_nothing_is_written(cli, monkeypatch, tmp_path):
    keyring.set_keyring(fail.Keyring())
    before = tree(tmp_path)
    stdin(monkeypatch, VALUE)
    for argv in (
        ["secret", "set", "webhook-url"],
        ["secret", "list"],
        ["secret", "delete", "tsb-api-user"],
    ):
        result = cli(*argv)
        assert result.rc == 2, argv
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(
            "tsbrunbook: error: no usable keyring backend (keyring.backends.fail.Keyring"
        )
        assert (
            "keyringrc.cfg" in lines[0]
            and "PYTHON_KEYRING_BACKEND" in lines[0]
            and "never falls back to plain files" in lines[0]
        )
        assert "Traceback" not in result.err and VALUE not in result.err + result.out
    assert tree(tmp_path) == before
    with pytest.raises(secrets.KeyringUnavailable):
        secrets.get_secret("webhook-url")


def test_null_backend_stores_nothing_so_it_is_refused_too(cli, monkeypatch):
    keyring.set_keyring(null.Keyring())
    stdin(monkeypatch, VALUE)
    result = cli("secret", "set", "webhook-url")
    assert result.rc == 2 and "keyring.backends.null.Keyring: it stores nothing" in result.err


def test_fail_backend_in_a_real_process_writes_no_file(tmp_path):
    """The real `python -m tsbrunbook` on a box without a keyring: every place keyring or we could
    write (home, XDG dirs, TSBRUNBOOK_HOME) lives under tmp_path, and nothing appears there."""
    home = tmp_path / "userhome"
    for d in ("userhome", "xdg-config", "xdg-data", "tsbhome"):
        (tmp_path / d).mkdir()
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        "TSBRUNBOOK_HOME": str(tmp_path / "tsbhome"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    before = tree(tmp_path)
    result = run_process(
        "secret", "set", "tsb-api-password", env=env, input="planted-pa55\n", cwd=str(tmp_path)
    )
    assert result.rc == 2
    assert (
        result.err.startswith("tsbrunbook: error: no usable keyring backend")
        and str(tmp_path / "xdg-config" / "python_keyring" / "keyringrc.cfg") in result.err
    )
    assert "planted-pa55" not in result.err + result.out
    assert tree(tmp_path) == before
    assert not any(os.scandir(tmp_path / "tsbhome"))


def test_secrets_api(memory_keyring):
    assert secrets.get_secret("webhook-url") is None
    secrets.set_secret("webhook-url", "  " + VALUE + "  ")
    assert secrets.get_secret("webhook-url") == VALUE
    assert [s.is_set for s in secrets.secret_status()] == [True, False, False, False]
    with pytest.raises(secrets.UserError, match="tsb-api-user is not set"):
        secrets.require("tsb-api-user", "the probe")
    assert secrets.delete_secret("webhook-url") is True
    assert secrets.delete_secret("webhook-url") is False
    with pytest.raises(secrets.UserError, match="unknown secret name"):
        secrets.get_secret("api-token")


def test_a_failing_backend_error_never_carries_the_value(memory_keyring, monkeypatch):
    from keyring.errors import KeyringLocked

    def locked(service, name, value):
        raise KeyringLocked(f"collection locked while storing {value}")

    monkeypatch.setattr(memory_keyring, "set_password", locked)
    with pytest.raises(secrets.SecretError) as info:
        secrets.set_secret("tsb-api-password", "pa55-w0rd-planted")
    assert "pa55-w0rd-planted" not in str(info.value) and "KeyringLocked" in str(info.value)


# ---------------------------------------------------------------------------------------------
# A backend that fails with the secret in its message: the message is never shown

LEAKED = "pa55-Leaky-Backend-77"


@pytest.mark.parametrize("backend", ["LeakyRuntimeKeyring", "LeakyKeyringErrorKeyring"])
def test_a_failing_backend_never_shows_its_message_in_process(cli, monkeypatch, tmp_path, backend):
    import tests.leaky_keyrings as leaky

    monkeypatch.setenv(leaky.ENV, f'{{"tsb-api-password": "{LEAKED}", "webhook-url": "{VALUE}"}}')
    keyring.set_keyring(getattr(leaky, backend)())
    before = tree(tmp_path)
    runs = []
    stdin(monkeypatch, LEAKED + "\n")
    runs.append(("store tsb-api-password", cli("secret", "set", "tsb-api-password")))
    runs.append(("read webhook-url", cli("secret", "list")))  # the first name it reads
    runs.append(("delete tsb-api-password", cli("secret", "delete", "tsb-api-password")))
    runs.append(
        (
            "read webhook-url",
            cli("incident", "chat", cli("incident", "start", "leaky").out.strip(), "on"),
        )
    )
    for _, result in runs:
        text = result.out + result.err
        assert LEAKED not in text and VALUE not in text and "bad secret" not in text, text
        assert "Traceback" not in text and "internal error" not in text
    for what, result in runs[:3]:
        assert result.rc == 2
        (line,) = result.err.strip().splitlines()
        assert f"the keyring backend tests.leaky_keyrings.{backend} failed to {what}" in line, line
        assert "its message is not shown" in line and "python -m keyring diagnose" in line
    assert runs[3][1].rc == 0 and "updates cannot be posted: the keyring backend" in runs[3][1].err
    after = tree(tmp_path)
    assert not any(LEAKED.encode() in data for data in after.values())
    assert set(after) - set(before) <= {
        p for p in after if p.startswith("home/")
    }  # only the incident store


@pytest.mark.parametrize("backend", ["LeakyRuntimeKeyring", "LeakyKeyringErrorKeyring"])
def test_a_failing_backend_never_shows_its_message_in_a_real_process(tmp_path, backend):
    from tests.conftest import ROOT

    env = {
        "PYTHON_KEYRING_BACKEND": f"tests.leaky_keyrings.{backend}",
        "PYTHONPATH": str(ROOT),
        "TSBRUNBOOK_TEST_SECRETS": f'{{"tsb-api-user": "u", "tsb-api-password": "{LEAKED}"}}',
        "TSBRUNBOOK_HOME": str(tmp_path / "home"),
        "HOME": str(tmp_path / "userhome"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    results = [
        run_process(
            "secret", "set", "tsb-api-password", env=env, input=LEAKED + "\n", cwd=str(tmp_path)
        ),
        run_process(
            "probe",
            "--estate",
            str(ROOT / "runbooks" / "estates" / "demo.yaml"),
            env=env,
            cwd=str(tmp_path),
        ),
    ]
    for result in results:
        assert result.rc == 2, result
        assert LEAKED not in result.out + result.err and "bad secret" not in result.err
        assert f"the keyring backend tests.leaky_keyrings.{backend} failed to" in result.err
    assert not any(LEAKED.encode() in data for data in tree(tmp_path).values())


def test_the_database_password_is_kept_as_typed_and_none_without_a_keyring(memory_keyring):
    assert secrets.database_password() is None
    secrets.set_secret("database-password", " spaced pw ")
    assert secrets.database_password() == " spaced pw "  # a password's spaces are its own


def test_the_database_password_is_none_when_no_keyring_is_usable(monkeypatch):
    import keyring
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())
    assert secrets.database_password() is None
