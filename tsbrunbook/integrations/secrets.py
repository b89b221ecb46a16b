"""Secrets in the OS keyring (service name `tsbrunbook`), and nowhere else.

keyring is imported inside the functions: it costs ~0.2 s plus backend detection, and most
commands never need a secret. When keyring has no usable backend (its `fail` backend on a
headless box without a Secret Service, or the `null` backend that stores nothing) every call
raises KeyringUnavailable with how to configure one. There is no fallback: writing the secret
to a file of our own would be exactly the plaintext the keyring exists to avoid.

Values never appear in an error message, a log line or a repr: errors name the secret, never
its value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from ..domain.errors import UserError, closest

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

SERVICE = "tsbrunbook"

# name → what it is for. Only these names are accepted: a typo would otherwise store a secret
# that nothing ever reads while the real one stays unset.
KNOWN_SECRETS: dict[str, str] = {
    "webhook-url": "chat incoming-webhook URL (Slack or Mattermost) for incident updates",
    "tsb-api-user": "TSB API user for `tsbrunbook probe` (basic auth)",
    "tsb-api-password": "TSB API password for `tsbrunbook probe` (basic auth)",
    "database-password": "PostgreSQL password for team mode, when ~/.pgpass and PGPASSWORD have none",
}
WEBHOOK_URL = "webhook-url"
API_USER = "tsb-api-user"
API_PASSWORD = "tsb-api-password"
DATABASE_PASSWORD = "database-password"

UNUSABLE_BACKENDS = ("keyring.backends.fail.Keyring", "keyring.backends.null.Keyring")


class KeyringUnavailable(UserError):
    """No usable keyring backend on this machine."""


class SecretError(UserError):
    """The keyring backend failed (locked, denied, D-Bus trouble …)."""


def check_name(name: str) -> str:
    """The name if it is a known secret; else a UserError suggesting the closest.

    The unknown name is not repeated in the message: when a value is typed where the name
    goes, echoing it would put the secret on the screen and into terminal logs."""
    if name in KNOWN_SECRETS:
        return name
    near = closest(name, list(KNOWN_SECRETS), n=1)
    hint = (f"did you mean {near[0]}? " if near else "") + "known: " + ", ".join(KNOWN_SECRETS)
    raise UserError("unknown secret name (not shown, in case it was a value)", hint)


def validate_value(name: str, value: str) -> str:
    """Refuse values that cannot work, without ever repeating them."""
    if not value.strip():
        raise UserError(f"the value for {name} is empty", "nothing was stored")
    if any(ch in value for ch in "\r\n\x00"):
        raise UserError(
            f"the value for {name} spans several lines", "give one line; nothing was stored"
        )
    if name == WEBHOOK_URL:
        from urllib.parse import urlsplit

        parts = urlsplit(value.strip())
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise UserError(
                f"the value for {name} is not an http(s) URL",
                "paste the incoming-webhook URL from Slack or Mattermost; nothing was stored",
            )
    return value.strip() if name not in (API_PASSWORD, DATABASE_PASSWORD) else value


def _backend_name(kr: Any) -> str:
    cls = type(kr)
    return f"{cls.__module__}.{cls.__qualname__}"


def config_hint() -> str:
    """How to configure a backend, naming keyring's config file on this machine."""
    try:
        from keyring.util import platform_

        cfg = str(platform_.config_root() / "keyringrc.cfg")
    except Exception:  # noqa: BLE001 — a hint must not fail
        cfg = "keyringrc.cfg in keyring's config root (`python -m keyring diagnose`)"
    return (
        f"configure one: `[backend]` `default-keyring = keyring.backends.SecretService.Keyring` in {cfg}, "
        "or the PYTHON_KEYRING_BACKEND environment variable (README: Secrets); "
        "tsbrunbook never falls back to plain files"
    )


def backend() -> KeyringBackend:
    """The keyring backend in use; KeyringUnavailable if it cannot store anything."""
    import keyring

    try:
        kr = keyring.get_keyring()
    except Exception as exc:  # noqa: BLE001 — a broken keyringrc.cfg or PYTHON_KEYRING_BACKEND
        raise KeyringUnavailable(
            f"the keyring backend cannot be loaded ({type(exc).__name__})", config_hint()
        ) from None
    name = _backend_name(kr)
    if name in UNUSABLE_BACKENDS:
        why = (
            "it stores nothing"
            if name.endswith("null.Keyring")
            else "keyring found no secure backend"
        )
        raise KeyringUnavailable(f"no usable keyring backend ({name}: {why})", config_hint())
    return kr


def backend_label() -> str:
    """The backend's class name, or why there is none (for `secret list`)."""
    try:
        return _backend_name(backend())
    except KeyringUnavailable as exc:
        return f"none ({exc.message})"


T = TypeVar("T")


def _call(what: str, name: str, fn: Callable[..., T], *args: Any) -> T:
    """`fn(SERVICE, name, *args)` on the backend; any failure becomes a fixed message.

    A backend's own words are never passed on, whatever it raises (KeyringError or anything
    else): a careless backend puts the value in its message ("bad secret …"), and masking only
    catches the value we handed it, not the one it holds."""
    from keyring.errors import NoKeyringError, PasswordDeleteError

    try:
        return fn(SERVICE, name, *args)
    except NoKeyringError:
        raise KeyringUnavailable("no usable keyring backend", config_hint()) from None
    except PasswordDeleteError:
        raise
    except Exception as exc:  # noqa: BLE001 — any backend failure, reported without its text
        owner = _backend_name(getattr(fn, "__self__", fn))
        raise SecretError(
            f"the keyring backend {owner} failed to {what} {name} ({type(exc).__name__}; its message is not shown: it may hold the secret)",
            "unlock the keyring, or check the backend with `python -m keyring diagnose`, then try again",
        ) from None


def get_secret(name: str) -> str | None:
    """The stored value, or None when it is not set."""
    check_name(name)
    kr = backend()
    return _call("read", name, kr.get_password)


def set_secret(name: str, value: str) -> None:
    """Store it (replacing any previous value); the value is validated first."""
    check_name(name)
    value = validate_value(name, value)
    kr = backend()
    _call("store", name, kr.set_password, value)


def delete_secret(name: str) -> bool:
    """Delete it; False when it was not set."""
    from keyring.errors import PasswordDeleteError

    check_name(name)
    kr = backend()
    try:
        _call("delete", name, kr.delete_password)
    except PasswordDeleteError:
        return False
    return True


@dataclass(frozen=True)
class SecretStatus:
    name: str
    description: str
    is_set: bool


def secret_status() -> list[SecretStatus]:
    """Each known secret and whether it is set (never the value)."""
    kr = backend()
    return [
        SecretStatus(name, what, _call("read", name, kr.get_password) is not None)
        for name, what in KNOWN_SECRETS.items()
    ]


def require(name: str, purpose: str) -> str:
    """The value, or a UserError saying how to set it."""
    value = get_secret(name)
    if not value:
        raise UserError(
            f"the secret {name} is not set ({purpose})", f"run `tsbrunbook secret set {name}`"
        )
    return value


def database_password() -> str | None:
    """The team-mode database password from the keyring, or None when it is not set or there is
    no usable keyring (then libpq's own error about the missing password is what the user sees)."""
    try:
        return get_secret(DATABASE_PASSWORD)
    except UserError:
        return None
