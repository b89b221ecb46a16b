"""Operations × (overall, management, each cluster), the reasons behind the highlighted cell,
the queued changes and the services. Cells are updated in place, never rebuilt."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text as RichText
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.geometry import Size
from textual.render import measure
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from ...domain.export import scope_label
from ...domain.impact import Impact
from ...domain.model import MANAGEMENT_SCOPE, Level, Pack
from ...domain.text import one_line
from ..glyphs import ERROR, LEVEL_SHORT, LEVEL_STYLE, level_glyph
from ..shown import Hanging, ShownStatic, shown_line, themed
from ..shown import ShownText as Text  # Text: strings are sanitised as they are added

OVERALL = "overall"


def cell(level: Level, theme: dict[str, str]) -> RichText:
    """A table cell: glyph and word, coloured by `theme` (a DataTable draws Rich text only)."""
    text = Text.assemble(level_glyph(level), " ", (LEVEL_SHORT[level], LEVEL_STYLE[level]))
    return themed(text, theme)


class ImpactTable(DataTable):
    """The matrix: a DataTable whose column widths come from its cells' lengths. Every cell is
    one line of text, so its width is its cell length; DataTable measures each new cell with a
    Rich console instead (~20 µs a cell, 5,000 cells on a 1,000-cluster estate at start)."""

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        rows = list(new_rows)
        if any(
            (row := self.rows.get(key)) is not None and (row.label is not None or row.auto_height)
            for key in rows
        ):
            super()._update_dimensions(rows)  # not ours: DataTable's own way
            return
        columns = self.ordered_columns
        # The cells as added (a Text is its own renderable, DataTable's formatter passes it on):
        # the rows share their cell objects (every row starts "ok"), so each is measured once,
        # and no row's renderables are built for it (~14 ms at 1,000 clusters).
        measured: dict[int, int] = {}
        for key in rows:
            values = self._data.get(key)
            index = self._row_locations.get(key)
            if values is None or index is None:
                continue  # removed before the table was idle
            for at, column in enumerate(columns):
                cell = values.get(column.key)
                width = measured.get(id(cell))
                if width is None:
                    if isinstance(cell, RichText) and "\n" not in cell.plain:
                        width = measured[id(cell)] = cell.cell_len
                    else:  # anything else as DataTable renders it
                        shown = self._get_row_renderables(index).cells[at]
                        width = measure(self.app.console, shown, 1)
                column.content_width = max(column.content_width, width)
        # And, as DataTable's own does, the scrollable size from the widths and the rows.
        width = sum(column.get_render_width(self) for column in self.columns.values())
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(
            width + self._row_label_column_width, self._total_row_height + header
        )


class ImpactPane(Vertical):
    """A row per scope (overall, management side, each cluster), a column per operation.

    Rows, not columns, per cluster: a DataTable renders only the rows on screen, so a thousand
    clusters cost no more per repaint than four, and the four operations fit in 80 columns."""

    DEFAULT_CSS = """
    ImpactPane DataTable { height: auto; max-height: 12; }
    ImpactPane #reasons { height: 1fr; min-height: 4; border-top: solid $panel; }
    ImpactPane #summary { height: auto; max-height: 10; border-top: solid $panel; }
    """

    def __init__(
        self,
        pack: Pack,
        scopes: tuple[str, ...],
        impact: Impact | None = None,
        recent: list[str] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.pack = pack
        self.rows = (OVERALL, *scopes)  # row keys, in order
        self.impact: Impact | None = None
        self.recent: list[str] = []
        self.shown: dict[tuple[str, str], Level] = {}
        self.table: DataTable = ImpactTable(
            id="impact-table", cursor_type="cell", zebra_stripes=False
        )
        self.reasons = ShownStatic(id="reasons-text")
        self.summary = ShownStatic(id="summary-text")
        self.first = (impact, recent)

    def compose(self) -> ComposeResult:
        """The matrix is built here with the levels it starts with: the first frame shows them."""
        table = self.table
        table.add_column("Scope", key="scope")
        for op in self.pack.graph.operations:
            table.add_column(shown_line(op.short), key=op.id)
        ok = [cell(Level.OK, self.app.theme_variables) for _ in self.pack.graph.operations]
        for scope in self.rows:
            label = (
                "Overall" if scope == OVERALL else "mgmt" if scope == MANAGEMENT_SCOPE else scope
            )
            table.add_row(
                Text(label, style="bold") if scope == OVERALL else shown_line(label), *ok, key=scope
            )
            for op in self.pack.graph.operations:
                self.shown[(op.id, scope)] = Level.OK
        table.move_cursor(row=0, column=1)
        impact, recent = self.first
        if impact is not None:
            self.show(impact, recent)
        yield table
        with VerticalScroll(id="reasons"):
            yield self.reasons
        with VerticalScroll(id="summary"):
            yield self.summary

    def on_mount(self) -> None:
        # Published once the new theme's variables are in place.
        self.app.theme_changed_signal.subscribe(self, self.recolour)

    def recolour(self, _theme=None) -> None:
        """A new theme: every cell again, in its colours."""
        theme = self.app.theme_variables
        for (op_id, scope), level in self.shown.items():
            self.table.update_cell(scope, op_id, cell(level, theme))

    def show(self, impact: Impact, recent: list[str] | None = None) -> None:
        """Repaint only the cells whose level changed."""
        first = self.impact is None
        self.impact = impact
        self.recent = recent or []
        table = self.table
        for op_id, res in impact.operations.items():
            for scope, level in ((OVERALL, res.level), *res.scopes.items()):
                if self.shown.get((op_id, scope)) != level:
                    self.shown[(op_id, scope)] = level
                    table.update_cell(
                        scope, op_id, cell(level, self.app.theme_variables), update_width=True
                    )
        if first:
            # Open on the worst news: the first operation that is not ok.
            worst = next(
                (i for i, r in enumerate(impact.operations.values()) if r.level > Level.OK), 0
            )
            table.move_cursor(row=0, column=worst + 1)
        self.show_reasons()
        self.show_summary()

    def highlighted(self) -> tuple[str, str | None]:
        """(operation, scope) under the cursor; scope None is the overall row."""
        row, col = self.table.cursor_coordinate
        ops = self.pack.graph.operations
        op = ops[min(max(col, 1), len(ops)) - 1].id
        scope = self.rows[min(row, len(self.rows) - 1)]
        return op, None if scope == OVERALL else scope

    @on(DataTable.CellHighlighted)
    def _highlighted(self) -> None:
        self.show_reasons()

    def show_reasons(self) -> None:
        if self.impact is None:
            return
        op_id, scope = self.highlighted()
        op = next(o for o in self.pack.graph.operations if o.id == op_id)
        res = self.impact.operations[op_id]
        level = res.level if scope is None else res.scopes[scope]
        where = "overall" if scope is None else scope_label(scope)
        # Each paragraph wraps under its own text (hanging indent), never flush left.
        text = Hanging()
        text.add(
            Text.assemble(
                (f"{op.title} — {where}: ", "bold"),
                level_glyph(level),
                " ",
                (level.word, LEVEL_STYLE[level]),
            ),
            indent=2,
        )
        reasons = res.reasons_for(scope)
        if not reasons:
            text.add(op.description, style="dim")
            if level == Level.OK:
                text.add("Not affected by what is down.")
        for r in reasons:
            lvl = r.level if scope is None else r.level_in(scope)
            line = Text(f"{level_glyph(lvl)} ")
            line.append(", ".join(r.components) or "estate", style="bold")
            if r.instance:
                line.append(f"  [{r.instance}]", style="dim")
            text.add(line, indent=3)
            if len(r.path) > 1:
                text.add("   path: " + " → ".join(r.path), indent=9, style="dim")
            text.add("   " + r.text, indent=3)
        self.reasons.update(text)

    def show_summary(self) -> None:
        impact = self.impact
        if impact is None:
            return
        text = Hanging()
        if not impact.changes_accepted:
            text.add("No TSB configuration change can be made now.", style=ERROR)
        hit = [
            s
            for s in impact.scopes
            if s != MANAGEMENT_SCOPE
            and any(r.scopes[s] > Level.OK for r in impact.operations.values())
        ]
        if hit:
            worst = {s: max(r.scopes[s] for r in impact.operations.values()) for s in hit}
            line = Text("Clusters hit: ", style="bold")
            line.append(
                ", ".join(f"{s} {level_glyph(worst[s]).strip()}" for s in hit[:8])
                + (f" (+{len(hit) - 8})" if len(hit) > 8 else ""),
                style="not bold",
            )
            text.add(line, indent=2)
        if impact.queued:
            names = [q.cluster for q in impact.queued]
            shown = ", ".join(names[:6]) + (f" (+{len(names) - 6})" if len(names) > 6 else "")
            line = Text.assemble(("Changes queue for: ", "bold"), shown)
            text.add(line, indent=2)
        services_hit = [s for s in impact.services if s.level > Level.OK]
        line = Text("Services: ", style="bold")
        if not impact.services:
            line.append("none listed in the estate", style="dim")
        elif not services_hit:
            line.append(f"all {len(impact.services)} up")
        else:
            for service in services_hit:
                style = LEVEL_STYLE[service.level]
                line.append(f"{level_glyph(service.level)} {service.name}", style=style)
                line.append(f" (down on {', '.join(service.down_clusters)}) ")
            up = len(impact.services) - len(services_hit)
            line.append(f"· {up} other(s) up")
        text.add(line, indent=2)
        if self.recent:
            text.add("Latest:", style="bold")
            for event in self.recent:
                # One paragraph per event, whatever a note holds; continuation under the text.
                text.add(f"  {one_line(event)}", indent=4, style="dim")
        self.summary.update(text)
