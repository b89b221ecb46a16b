"""The estate's component graph: which components exist, what hosts what, who depends on whom.

Built once per (pack, estate) into plain dicts, so the impact engine's hot path never touches
networkx; `to_networkx()` gives the full graph for analysis and pictures.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from .errors import UserError, did_you_mean
from .model import Component, Estate, Pack, component_id

if TYPE_CHECKING:
    import networkx as nx


class EstateGraph:
    """Components of one estate and the relations between them."""

    def __init__(self, pack: Pack, estate: Estate) -> None:
        self.pack = pack
        self.estate = estate
        spec = pack.graph
        self.kinds = {k.id: k for k in spec.kinds}
        self.components: list[Component] = []
        for kind in spec.kinds:
            if not kind.per_cluster:
                self._add(kind.id, None)
        for cluster in estate.cluster_names:
            for kind in spec.kinds:
                if kind.per_cluster:
                    self._add(kind.id, cluster)
        self.by_id = {c.id: c for c in self.components}
        self.markable_ids = [c.id for c in self.components if c.markable]

        # host → hosted (direct), and hosted → host
        self.hosted: dict[str, list[str]] = {c.id: [] for c in self.components}
        self.host_of: dict[str, str] = {}
        for rule in spec.hosts:
            if rule.placement is not None:
                store = estate.datastores.get(rule.hosted)
                if store is None or store.placement != rule.placement:
                    continue
            for host, hosted in self._instances(rule.host, rule.hosted):
                self.hosted[host].append(hosted)
                self.host_of[hosted] = host

        # dependent → what it needs, and the reverse (who is hit when a component goes)
        self.needs: dict[str, list[tuple[str, str]]] = {c.id: [] for c in self.components}
        self.dependents: dict[str, list[tuple[str, str]]] = {c.id: [] for c in self.components}
        for dep in spec.dependencies:
            for source, target in self._instances(dep.source, dep.target):
                hops = [target]
                if dep.via is not None:
                    via_cluster = self.by_id[source].cluster or self.by_id[target].cluster
                    if not self.kinds[dep.via].per_cluster:
                        via_cluster = None
                    hops.insert(0, component_id(dep.via, via_cluster))
                for hop in hops:
                    self.needs[source].append((hop, dep.channel))
                    self.dependents[hop].append((source, dep.channel))

        # Who is hit when a component goes, each once (a component may need another over
        # several channels): the walk in affected_by() runs on every assessment.
        self._hit: dict[str, tuple[str, ...]] = {
            cid: tuple(dict.fromkeys(d for d, _ in deps)) for cid, deps in self.dependents.items()
        }
        self._closure: dict[str, frozenset[str]] = {}
        self._chains: dict[str, tuple[str, ...]] = {}
        # Kind-level shortest paths: over every dependency, and over each operation's channels.
        self._kind_paths: dict[frozenset[str] | None, dict[tuple[str, str], tuple[str, ...]]] = {
            None: self._all_kind_paths(None)
        }
        for op in spec.operations:
            key = frozenset(op.channels)
            if op.channels and key not in self._kind_paths:
                self._kind_paths[key] = self._all_kind_paths(key)

    def _add(self, kind_id: str, cluster: str | None) -> None:
        kind = self.kinds[kind_id]
        title = f"{kind.title} ({cluster})" if cluster else kind.title
        self.components.append(
            Component(component_id(kind_id, cluster), kind_id, cluster, title, kind.markable)
        )

    def _instances(self, a: str, b: str) -> list[tuple[str, str]]:
        """Instantiate a kind-level relation a→b for this estate's clusters."""
        ka, kb = self.kinds[a], self.kinds[b]
        clusters = self.estate.cluster_names
        if ka.per_cluster and kb.per_cluster:
            return [(component_id(a, c), component_id(b, c)) for c in clusters]
        if ka.per_cluster:
            return [(component_id(a, c), b) for c in clusters]
        if kb.per_cluster:
            return [(a, component_id(b, c)) for c in clusters]
        return [(a, b)]

    # -----------------------------------------------------------------------------------------

    def component(self, cid: str) -> Component:
        """The component with this id, or a UserError naming the closest ids."""
        found = self.by_id.get(cid)
        if found is None:
            hint = did_you_mean(cid, list(self.by_id)) or "run `tsbrunbook components` for the list"
            raise UserError(f"unknown component '{_clip(cid)}'", hint)
        return found

    def check_markable(self, cid: str) -> Component:
        comp = self.component(cid)
        if not comp.markable:
            raise UserError(
                f"component '{cid}' cannot be marked down",
                f"the guide rates no failure of a {self.kinds[comp.kind].title.lower()} on its own; mark its host {self.host_of.get(cid, '')} instead".rstrip(),
            )
        return comp

    def closure(self, cid: str) -> frozenset[str]:
        """The component and everything it hosts, transitively: what goes down with it."""
        cached = self._closure.get(cid)
        if cached is None:
            seen = {cid}
            todo = [cid]
            while todo:
                for child in self.hosted[todo.pop()]:
                    if child not in seen:
                        seen.add(child)
                        todo.append(child)
            cached = self._closure[cid] = frozenset(seen)
        return cached

    def hosts_chain(self, cid: str) -> tuple[str, ...]:
        """cid's hosts, nearest first."""
        cached = self._chains.get(cid)
        if cached is None:
            chain = []
            node = cid
            while node in self.host_of:
                node = self.host_of[node]
                chain.append(node)
            cached = self._chains[cid] = tuple(chain)
        return cached

    def affected_by(self, down: frozenset[str]) -> dict[str, str]:
        """Components not down but hit through a dependency: id → the down component behind it.

        A breadth-first walk from every down component at once, in id order, so each affected
        component names the nearest down one (the first in id order among equally near ones).
        """
        affected: dict[str, str] = {}
        hit = self._hit
        frontier = sorted(down)
        causes = frontier
        while frontier:
            next_frontier: list[str] = []
            next_causes: list[str] = []
            for cid, cause in zip(frontier, causes, strict=True):
                for dependent in hit[cid]:
                    if dependent not in down and dependent not in affected:
                        affected[dependent] = cause
                        next_frontier.append(dependent)
                        next_causes.append(cause)
            frontier, causes = next_frontier, next_causes
        return affected

    # -----------------------------------------------------------------------------------------
    # Dependency paths, for the reasons behind a level

    def _kind_edges(self, channels: frozenset[str] | None) -> dict[str, list[str]]:
        """Kind → the kinds it needs: dependencies over `channels` (all of them for None), and
        the host each kind runs on in this estate (always: a component needs what it runs on)."""
        edges: dict[str, list[str]] = {k: [] for k in self.kinds}
        for dep in self.pack.graph.dependencies:
            if channels is not None and dep.channel not in channels:
                continue
            if dep.via is not None:
                edges[dep.source].append(dep.via)
                edges[dep.via].append(dep.target)
            else:
                edges[dep.source].append(dep.target)
        for rule in self.pack.graph.hosts:
            if rule.placement is not None:
                store = self.estate.datastores.get(rule.hosted)
                if store is None or store.placement != rule.placement:
                    continue  # an external data store does not run on the management cluster
            edges[rule.hosted].append(rule.host)
        for targets in edges.values():
            targets[:] = dict.fromkeys(targets)  # a kind may need another over several channels
        return edges

    def _all_kind_paths(
        self, channels: frozenset[str] | None
    ) -> dict[tuple[str, str], tuple[str, ...]]:
        """The shortest kind path between every pair of kinds, over `_kind_edges(channels)`."""
        edges = self._kind_edges(channels)
        paths: dict[tuple[str, str], tuple[str, ...]] = {}
        for start in self.kinds:
            prev: dict[str, str | None] = {start: None}
            queue = deque([start])
            while queue:
                node = queue.popleft()
                for nxt in edges[node]:
                    if nxt not in prev:
                        prev[nxt] = node
                        queue.append(nxt)
            for end in prev:
                path = [end]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])  # type: ignore[arg-type]
                paths[(start, end)] = tuple(reversed(path))
        return paths

    def kind_path(
        self, entry_kind: str, down_kind: str, channels: tuple[str, ...] = ()
    ) -> tuple[str, ...] | None:
        """The kinds from an operation's entry to a down kind: over the operation's channels
        (and hosting) when they lead there, else over any dependency; None if nothing does."""
        if channels:
            preferred = self._kind_paths.get(frozenset(channels))
            if preferred is None:
                preferred = self._kind_paths[frozenset(channels)] = self._all_kind_paths(
                    frozenset(channels)
                )
            found = preferred.get((entry_kind, down_kind))
            if found is not None:
                return found
        return self._kind_paths[None].get((entry_kind, down_kind))

    def path(
        self, entry_kind: str, scope_cluster: str | None, down: str, channels: tuple[str, ...] = ()
    ) -> list[str]:
        """The dependency path from an operation's entry point in a scope to a down component,
        preferring the operation's own channels (see `kind_path`)."""
        comp = self.by_id[down]
        kinds = self.kind_path(entry_kind, comp.kind, channels)
        if kinds is None:
            return [down]
        # An estate-wide failure reaches every cluster the same way: `*` stands for each of them.
        cluster = comp.cluster or scope_cluster or "*"
        out = []
        for k in kinds:
            if self.kinds[k].per_cluster:
                out.append(component_id(k, cluster))
            else:
                out.append(k)
        return out if out[-1] == down else [down]

    # -----------------------------------------------------------------------------------------

    def to_networkx(self) -> nx.MultiDiGraph[str]:
        """The whole estate as a networkx graph: `hosts` and dependency edges (with channels)."""
        import networkx as nx

        g: nx.MultiDiGraph[str] = nx.MultiDiGraph()
        for comp in self.components:
            g.add_node(comp.id, kind=comp.kind, cluster=comp.cluster, title=comp.title)
        for host, children in self.hosted.items():
            for child in children:
                g.add_edge(host, child, relation="hosts")
        for source, needs in self.needs.items():
            for target, channel in needs:
                g.add_edge(source, target, relation="needs", channel=channel)
        return g


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
