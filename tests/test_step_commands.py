"""Commands as they are shown and copied: estate values shell-quoted for their place in the
command, per-cluster commands of estate-wide checklists expanded per cluster, and the new
estate placeholders (front-envoy port, TSB and chart version, services only on one cluster)."""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import replace

import pytest

from tsbrunbook.domain import template
from tsbrunbook.domain.model import Step
from tsbrunbook.domain.runbooks.estate import load_estate

HOSTILE_CONTEXT = "gke-eu-west; touch /tmp/x #"


def with_context(estate, cluster: str, context: str):
    clusters = tuple(
        replace(c, context=context) if c.name == cluster else c for c in estate.clusters
    )
    return replace(estate, clusters=clusters)


def with_mgmt_context(estate, context: str):
    return replace(estate, management=replace(estate.management, context=context))


def test_a_hostile_context_is_one_quoted_argument(estate):
    hostile = with_context(estate, "eu-west", HOSTILE_CONTEXT)
    rendered = template.commands(
        ("kubectl --context {{cluster_context}} get nodes",), hostile, "eu-west"
    )
    assert rendered == ["kubectl --context 'gke-eu-west; touch /tmp/x #' get nodes"]
    assert shlex.split(rendered[0]) == ["kubectl", "--context", HOSTILE_CONTEXT, "get", "nodes"]


def test_plain_words_stay_unquoted(estate):
    rendered = template.commands(
        ("kubectl --context {{cluster_context}} get pod -n {{mgmt_namespace}}",), estate, "eu-west"
    )
    assert rendered == ["kubectl --context gke-eu-west get pod -n tsb"]


def test_a_value_glued_to_other_text_stays_one_word(estate):
    hostile = replace(estate, management=replace(estate.management, fqdn="tsb.example.com/$(id)"))
    [command] = template.commands(
        ("curl https://{{fqdn}}/v2/organizations/{{org}}/status",), hostile, None
    )
    assert shlex.split(command) == [
        "curl",
        "https://tsb.example.com/$(id)/v2/organizations/demo/status",
    ]


@pytest.mark.parametrize(
    "value", ["a b", 'say "hi"', "$(echo PWNED)", "`echo PWNED`", "back\\slash", "$HOME", "it's"]
)
def test_inside_double_quotes_the_value_is_escaped_for_a_real_shell(estate, value):
    hostile = with_mgmt_context(estate, value)
    [command] = template.commands(('printf %s "ctx={{mgmt_context}}!"',), hostile, None)
    # bash runs only printf: the value must come back byte for byte, nothing expanded.
    out = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=True).stdout
    assert out == f"ctx={value}!"


def test_an_exclamation_mark_is_never_left_inside_double_quotes(estate):
    """Interactive bash expands `!word` inside double quotes (history): such a value leaves them."""
    hostile = with_mgmt_context(estate, "a!b")
    [command] = template.commands(('printf %s "x{{mgmt_context}}y"',), hostile, None)
    assert command == 'printf %s "x"\'a!b\'"y"'
    assert (
        subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=True).stdout
        == "xa!by"
    )


def test_a_placeholder_in_single_quotes_still_renders_safely(estate):
    """Validate refuses it in the pack; if one gets through anyway, it cannot break out."""
    hostile = with_mgmt_context(estate, "x'; touch /tmp/y; echo '")
    [command] = template.commands(("echo '{{mgmt_context}}'",), hostile, None)
    assert shlex.split(command) == ["echo", "x'; touch /tmp/y; echo '"]
    assert template.single_quoted_placeholders("echo '{{mgmt_context}}' \"{{org}}\" {{fqdn}}") == [
        "mgmt_context"
    ]
    assert template.single_quoted_placeholders("psql -c \"SELECT 'x'\" {{org}}") == []


def test_substitution_inside_command_substitution_in_double_quotes_is_quoted(estate):
    hostile = with_mgmt_context(estate, "a; echo PWNED")
    [command] = template.commands(('printf %s "$(printf %s {{mgmt_context}})"',), hostile, None)
    out = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=True).stdout
    assert out == "a; echo PWNED"


def test_display_text_is_not_quoted(estate):
    hostile = with_context(estate, "eu-west", HOSTILE_CONTEXT)
    assert (
        template.fill("Check {{cluster_context}}", template.variables(hostile, "eu-west"))
        == f"Check {HOSTILE_CONTEXT}"
    )


def test_per_cluster_commands_expand_once_per_cluster_in_estate_order(estate):
    step = Step(
        id="s",
        title="t",
        detail="d",
        verify="v",
        commands=(
            "kubectl --context {{mgmt_context}} get pod -n {{mgmt_namespace}}",
            "kubectl --context {{cluster_context}} get pod -n istio-system  # {{cluster}}",
        ),
    )
    assert template.commands(step, estate, None) == [
        "kubectl --context gke-tsb-mgmt get pod -n tsb",
        "kubectl --context gke-eu-west get pod -n istio-system  # eu-west",
        "kubectl --context gke-eu-central get pod -n istio-system  # eu-central",
        "kubectl --context eks-us-east get pod -n istio-system  # us-east",
        "kubectl --context aks-ap-south get pod -n istio-system  # ap-south",
    ]
    # With a cluster (a per-cluster scenario) nothing expands.
    assert template.commands(step, estate, "us-east")[1:] == [
        "kubectl --context eks-us-east get pod -n istio-system  # us-east"
    ]


def test_sole_services_are_the_services_only_on_that_cluster(estate):
    assert [template.variables(estate, c)["sole_services"] for c in estate.cluster_names] == [
        "none",
        "payments",
        "none",
        "search",
    ]


def test_new_estate_placeholders_and_their_defaults(tmp_path, estate):
    values = template.variables(estate, None)
    assert (values["front_envoy_port"], values["tsb_version"], values["helm_chart_version"]) == (
        "8443",
        "1.12",
        "1.12",
    )
    custom = tmp_path / "custom.yaml"
    custom.write_text(
        "estate:\n  name: c\n  tsb_version: '1.11.2'\n  management: {cluster: m, front_envoy_port: 443, helm_chart_version: '1.11.3'}\n"
        "  clusters: [{name: a}]\n"
    )
    loaded = load_estate(str(custom))
    assert (loaded.management.front_envoy_port, loaded.management.helm_chart_version) == (
        443,
        "1.11.3",
    )
    values = template.variables(loaded, "a")
    assert (values["front_envoy_port"], values["tsb_version"], values["helm_chart_version"]) == (
        "443",
        "1.11.2",
        "1.11.3",
    )
    bare = tmp_path / "bare.yaml"
    bare.write_text(
        "estate:\n  name: b\n  tsb_version: '1.10'\n  management: {cluster: m}\n  clusters: [{name: a}]\n"
    )
    loaded = load_estate(str(bare))
    assert (loaded.management.front_envoy_port, loaded.management.helm_chart_version) == (
        8443,
        "1.10",
    )


def test_the_rules_flag_exactly_the_destructive_commands():
    from tsbrunbook.domain.runbooks.steps import destructive_verb, unpinned_helm

    assert destructive_verb("kubectl --context x delete ns foo") == "kubectl delete"
    assert destructive_verb("kubectl delete pod x") == "kubectl delete"
    assert destructive_verb("helm uninstall tsb -n tsb") == "helm uninstall"
    assert destructive_verb("kubectl scale deploy x --replicas 0") == "--replicas 0"
    assert destructive_verb("psql -c 'DROP TABLE x'") == "DROP"
    for harmless in (
        "kubectl get pod -A | grep delete",
        "kubectl scale deploy x --replicas 1",
        "kubectl scale deploy x --replicas=10",
        "kubectl get deploy --show-labels",
        "echo dropped",
    ):
        assert destructive_verb(harmless) is None, harmless
    assert unpinned_helm("helm install r chart -n tsb") == "install"
    assert (
        unpinned_helm("helm --kube-context c upgrade --install r chart --version 1.2") == "upgrade"
    )
    assert unpinned_helm("helm install r chart --version {{helm_chart_version}}") is None
    assert unpinned_helm("helm upgrade r chart --version={{ helm_chart_version }}") is None
    assert unpinned_helm("helm get values r > mp-values.yaml") is None
