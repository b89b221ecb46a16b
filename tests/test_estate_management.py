"""`management.fqdn` and `management.organization` are checked: they end up in the probe's URL,
so a user@ (a credential outside the keyring), a scheme or a path must not get through."""

from __future__ import annotations

import pytest

from tests.test_validate import BROKEN, planted
from tsbrunbook.domain.errors import LoadError
from tsbrunbook.domain.runbooks.estate import load_estate
from tsbrunbook.integrations.probe import status_url

BASE = "estate:\n  name: E\n  management:\n    cluster: mgmt\n{extra}  clusters:\n    - {{name: eu-west}}\n"


def estate_text(**management: str) -> str:
    return BASE.format(extra="".join(f"    {key}: {value}\n" for key, value in management.items()))


@pytest.mark.parametrize(
    "fqdn",
    [
        "tsb.example.com",
        "tsb.example.com:8443",
        "TSB-1.Example.COM.",
        "10.0.0.7:443",
        "localhost",
        "'[fd00::1]:8443'",
        "'<fqdn>'",
    ],
)
def test_host_names_with_an_optional_port_are_accepted(fqdn):
    estate = load_estate(text=estate_text(fqdn=fqdn, organization="demo_org.1-x"))
    assert estate.management.fqdn == fqdn.strip("'")
    assert estate.management.organization == "demo_org.1-x"


@pytest.mark.parametrize(
    "fqdn, words",
    [
        ("'a@127.0.0.1:9'", "must not carry user@"),
        ("'user:secret@tsb.example.com'", "must not carry user@"),
        ("https://tsb.example.com", "a URL"),
        ("tsb.example.com/v2", "not a host name"),
        ("'tsb example.com'", "not a host name"),
        ("tsb.example.com:99999", "out of range"),
        ("tsb.example.com:0", "out of range"),
        ("'-tsb.example.com'", "not a host name"),
        ("tsb.example.com?x=1", "not a host name"),
        ("tsb.example.com#frag", "not a host name"),
    ],
)
def test_bad_fqdns_are_problems_at_their_line(fqdn, words):
    with pytest.raises(LoadError) as info:
        load_estate(text=estate_text(fqdn=fqdn, organization="demo"))
    problems = info.value.problems
    assert len(problems) == 1 and problems[0].line == 5 and words in problems[0].message, problems
    assert "secret" not in problems[0].message.replace(
        "tsbrunbook secret set", ""
    )  # a credential is never echoed


@pytest.mark.parametrize("org", ["../admin", "'a/b'", "'demo org'", "..", "'x?y'", "'%2e%2e'"])
def test_bad_organizations_are_problems_at_their_line(org):
    with pytest.raises(LoadError) as info:
        load_estate(text=estate_text(fqdn="tsb.example.com", organization=org))
    problems = info.value.problems
    assert (
        len(problems) == 1
        and problems[0].line == 6
        and "not a plain TSB organization name" in problems[0].message
    ), problems


def test_absent_keys_keep_the_placeholders():
    estate = load_estate(text=estate_text())
    assert (estate.management.fqdn, estate.management.organization) == ("<fqdn>", "<org>")
    good = load_estate(text=estate_text(fqdn="tsb.example.com:8443", organization="demo"))
    assert status_url(good) == "https://tsb.example.com:8443/v2/organizations/demo/status"


@pytest.mark.parametrize("name", ["estate-management.yaml", "estate-management-url.yaml"])
def test_broken_corpus_lists_every_problem(cli, name):
    path = BROKEN / name
    result = cli("validate", str(path))
    assert result.rc == 2
    reported = [line for line in result.err.strip().splitlines()[:-1]]
    markers = planted(path)
    assert len(reported) == len(markers), result.err
    for (line_no, text), got in zip(markers, reported, strict=True):
        assert got.startswith(f"{path}:{line_no}: ") and text in got, got
