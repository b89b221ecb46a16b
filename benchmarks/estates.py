"""Synthetic estates for the benchmarks: N workload clusters in a few regions, services spread
over 1–3 clusters each, written as estate YAML in the format of runbooks/estates/demo.yaml.

Deterministic (seeded), so two runs on two machines measure the same estate:

    python benchmarks/estates.py --out /tmp/estates 10 100 1000
"""

from __future__ import annotations

import argparse
import os
import random

REGIONS = (
    ("eu", "europe-west1"),
    ("eu", "europe-west3"),
    ("us", "us-east1"),
    ("us", "us-west2"),
    ("ap", "asia-south1"),
    ("ap", "asia-northeast1"),
)
PROVIDERS = ("gke", "eks", "aks")
SERVICES_PER_CLUSTER = 2  # services = 2 × N, each on 1–3 clusters


def cluster_names(n: int) -> list[str]:
    """The workload cluster names of the N-cluster estate (`eu-w1-0007` …), in estate order."""
    return [_cluster(i)[0] for i in range(n)]


def _cluster(i: int) -> tuple[str, str, str]:
    prefix, region = REGIONS[i % len(REGIONS)]
    zone = region.rsplit("-", 1)[-1]
    name = f"{prefix}-{zone}-{i:04d}"
    return name, region, f"{PROVIDERS[i % len(PROVIDERS)]}-{name}"


def estate_yaml(n: int, seed: int = 7) -> str:
    """The estate YAML text for N workload clusters."""
    rnd = random.Random(seed * 100_003 + n)
    clusters = [_cluster(i) for i in range(n)]
    names = [c[0] for c in clusters]
    out = [
        f"# Synthetic benchmark estate: {n} workload clusters (benchmarks/estates.py, seed {seed}).",
        "estate:",
        f"  name: Benchmark estate ({n} clusters)",
        '  tsb_version: "1.12"',
        "  management:",
        "    cluster: tsb-mgmt",
        "    region: europe-west3",
        "    context: gke-tsb-mgmt",
        "    fqdn: tsb.bench.example.com",
        "    organization: bench",
        "    namespace: tsb",
        "  datastores:",
        "    postgres:",
        "      placement: external",
        "      redundant: true",
        "      backups: true",
        "    elasticsearch:",
        "      placement: embedded",
        "      redundant: false",
        "      backups: unknown",
        "  iam_signing_key_backup: true",
        "  clusters:",
    ]
    for name, region, context in clusters:
        out += [f"    - name: {name}", f"      region: {region}", f"      context: {context}"]
    out.append("  services:")
    for j in range(SERVICES_PER_CLUSTER * n):
        k = min(n, rnd.choice((1, 2, 2, 3)))
        placed = rnd.sample(names, k)
        out += [f"    - name: svc-{j:05d}", f"      clusters: [{', '.join(placed)}]"]
    out += [
        "  support:",
        "    vendor: Tetrate",
        "    contact: https://tetrate.io/contact-us/",
        '    account: "BENCH-0001"',
        "    severity: Highest your contract allows when management operations are out.",
        "    internal:",
        "      - name: Platform on-call",
        '        contact: "#platform-oncall"',
    ]
    return "\n".join(out) + "\n"


def write_estate(directory: str, n: int, seed: int = 7) -> str:
    """Write the N-cluster estate into `directory`; returns its path."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"estate-{n}.yaml")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(estate_yaml(n, seed))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "sizes",
        nargs="*",
        type=int,
        default=[10, 100, 1000],
        help="cluster counts (default: 10 100 1000)",
    )
    parser.add_argument(
        "--out", default="benchmarks/estates", help="directory to write estate-N.yaml into"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    for n in args.sizes:
        print(write_estate(args.out, n, args.seed))


if __name__ == "__main__":
    main()
