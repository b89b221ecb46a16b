"""What a command needs, loaded on first use: the pack, the estate, the graph and the engine."""

from __future__ import annotations

import sys
from functools import cached_property

from ..domain.graph import EstateGraph
from ..domain.impact import ImpactEngine
from ..domain.model import Estate, Pack
from ..domain.runbooks.estate import load_estate
from ..domain.runbooks.pack import load_pack


class Context:
    def __init__(self, estate_path: str | None = None) -> None:
        self.estate_path = estate_path

    @classmethod
    def for_engine(cls, engine: ImpactEngine) -> Context:
        """A context on an engine already built (an incident's estate), loading nothing again."""
        ctx = cls(engine.estate.file or None)
        ctx.__dict__.update(
            pack=engine.pack, estate=engine.estate, graph=engine.graph, engine=engine
        )
        return ctx

    @cached_property
    def pack(self) -> Pack:
        return load_pack()

    @cached_property
    def estate(self) -> Estate:
        return load_estate(self.estate_path)

    @cached_property
    def graph(self) -> EstateGraph:
        return EstateGraph(self.pack, self.estate)

    @cached_property
    def engine(self) -> ImpactEngine:
        return ImpactEngine(self.pack, self.estate, self.graph)

    @staticmethod
    def out(text: str) -> None:
        sys.stdout.write(text + "\n")
