"""Keyring backends for tests that run the real CLI in a subprocess (which cannot share the
in-memory backend): one that serves values from the environment, and two that fail with the
secret in their error message, as a careless backend might.

Load one with PYTHON_KEYRING_BACKEND=tests.leaky_keyrings.<Class> and PYTHONPATH=<repo root>;
the values come from TSBRUNBOOK_TEST_SECRETS (JSON: name → value)."""

from __future__ import annotations

import json
import os

from keyring.backend import KeyringBackend
from keyring.errors import KeyringError

ENV = "TSBRUNBOOK_TEST_SECRETS"


def _values() -> dict[str, str]:
    values = json.loads(os.environ.get(ENV) or "{}")
    assert isinstance(values, dict)
    return values


class EnvKeyring(KeyringBackend):
    """Read-only: the values of TSBRUNBOOK_TEST_SECRETS."""

    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        return _values().get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringError("read-only test backend")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringError("read-only test backend")


class LeakyRuntimeKeyring(KeyringBackend):
    """Every call fails with RuntimeError carrying the secret (the one stored, or the one given)."""

    priority = 1
    error: type[Exception] = RuntimeError

    def get_password(self, service: str, username: str) -> str | None:
        raise self.error(f"bad secret {_values().get(username, '')}")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.error(f"bad secret {password}")

    def delete_password(self, service: str, username: str) -> None:
        raise self.error(f"bad secret {_values().get(username, '')}")


class LeakyKeyringErrorKeyring(LeakyRuntimeKeyring):
    """The same, but with keyring's own KeyringError."""

    error = KeyringError
