"""Grants to the war-room view: stored by the token's digest (never the token), one per name,
revoked by name with the revocation kept."""

from __future__ import annotations

import hashlib

import pytest

from tsbrunbook.domain.errors import UserError


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def test_a_grant_is_listed_with_its_name_role_and_digest(store_factory):
    store = store_factory()
    made = store.add_access("alice", "operator", digest("t-alice"))
    store.add_access("bob", "read-only", digest("t-bob"))
    grants = store_factory().access_grants()  # another connection sees them
    assert [(g.name, g.role, g.token_sha256, g.read_only) for g in grants] == [
        ("alice", "operator", digest("t-alice"), False),
        ("bob", "read-only", digest("t-bob"), True),
    ]
    assert grants[0].created == made.created and made.created.tzinfo is not None


def test_the_token_itself_is_nowhere_in_the_store(store_factory, tmp_path):
    store = store_factory()
    store.add_access("alice", "operator", digest("plain-token-42"))
    assert all("plain-token-42" not in repr(g) for g in store.access_grants())
    if store.location.endswith(".sqlite3"):
        raw = b"".join(p.read_bytes() for p in (tmp_path / "store").iterdir())
        assert b"plain-token-42" not in raw
        assert digest("plain-token-42").encode() in raw


def test_a_name_has_one_grant_until_it_is_revoked(store):
    store.add_access("alice", "operator", digest("one"))
    with pytest.raises(UserError, match="alice already has access.*access revoke alice"):
        store.add_access("alice", "read-only", digest("two"))
    assert store.revoke_access("alice") is True
    assert store.access_grants() == []
    store.add_access("alice", "read-only", digest("two"))
    assert [(g.role, g.token_sha256) for g in store.access_grants()] == [
        ("read-only", digest("two"))
    ]


def test_revoking_an_unknown_name_changes_nothing(store):
    store.add_access("alice", "operator", digest("one"))
    assert store.revoke_access("mallory") is False
    assert store.revoke_access("alice") is True
    assert store.revoke_access("alice") is False
    assert store.access_grants() == []


def test_an_unknown_role_is_refused(store):
    with pytest.raises(ValueError, match="role"):
        store.add_access("alice", "admin", digest("x"))
    assert store.access_grants() == []
