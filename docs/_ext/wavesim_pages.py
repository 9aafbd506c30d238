"""Parts of pages made from the code at build time, so that they cannot drift from it.

``.. wavesim-result:: PATH`` shows a stored result file of the repository (a benchmark's last table)
stamped with the commit that last changed it, its date and message, read from git at build time.
``.. wavesim-models::`` (``{wavesim-models}`` in Markdown) renders every registered model with its
presets, and one table per model of its parameters: unit, allowed range, meaning and each preset's
value, as ``wavesim presets`` prints them. The build also checks that ``docs/long_examples.md``
names every script in ``examples/`` (a new example fails the build until the page lists it).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)


def _table(header: list[str], rows: list[list[str]], widths: list[int] | None = None) -> nodes.table:
    """A docutils table of plain-text cells (the first row a header)."""
    table = nodes.table(classes=["wavesim-generated"])
    group = nodes.tgroup(cols=len(header))
    table += group
    for width in widths or [1] * len(header):
        group += nodes.colspec(colwidth=width)

    def row(cells):
        tr = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += nodes.paragraph(text=str(cell))
            tr += entry
        return tr

    head = nodes.thead()
    head += row(header)
    body = nodes.tbody()
    for cells in rows:
        body += row(cells)
    group += head
    group += body
    return table


def _shown(value) -> str:
    if value is None:
        return "none"
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _allowed(meta: dict) -> str:
    if "choices" in meta:
        return "one of " + ", ".join(meta["choices"])
    return f"[{meta['low']:g}, {meta['high']:g}]" + (" or none" if meta.get("optional") else "")


class ModelsDirective(SphinxDirective):
    """Every registered model: a summary table, then one parameter table per model."""

    has_content = False

    def run(self):
        from wavesim.models import get_model, list_models

        models = [get_model(name) for name in list_models()]
        out = [nodes.paragraph(text=f"Generated from the model registry at build time: {len(models)} models.")]
        out.append(_table(
            ["model", "what it is", "parameters", "presets (default first)"],
            [[m.name, m.summary, m.params_cls.__name__,
              ", ".join([m.default_preset] + [p for p in m.presets if p != m.default_preset])] for m in models],
            [12, 48, 16, 24]))
        for model in models:
            section = nodes.rubric(text=f"Parameters of {model.name} ({model.params_cls.__name__})")
            names = list(model.presets)
            rows = [[field, meta["unit"] or "-", _allowed(meta), meta["doc"],
                     *(_shown(getattr(model.presets[p], field)) for p in names)]
                    for field, meta in model.params_cls.field_specs().items()]
            out += [section, _table(["parameter", "unit", "allowed", "meaning", *names], rows,
                                    [14, 6, 12, 40, *([8] * len(names))])]
        return out


def last_change(path: Path) -> str:
    """``commit (date): subject`` of the last commit that changed ``path``, or why that is unknown."""
    try:
        line = subprocess.run(["git", "log", "-1", "--format=%h (%ad): %s", "--date=short", "--", path.name],
                              cwd=path.parent, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        line = ""
    return line or "not known (no git history here)"


class ResultDirective(SphinxDirective):
    """A stored result file, verbatim, under a line naming the commit that wrote it."""

    required_arguments = 1

    def run(self):
        path = Path(self.env.srcdir).parent / self.arguments[0]
        if not path.is_file():
            raise self.error(f"wavesim-result: no file {self.arguments[0]} in the repository")
        self.env.note_dependency(str(path))
        stamp = nodes.paragraph()
        stamp += nodes.literal(text=self.arguments[0])
        stamp += nodes.Text(f", last changed at commit {last_change(path)}")
        return [stamp, nodes.literal_block(text=path.read_text().rstrip("\n"))]


def check_long_examples(app) -> None:
    """Warn for each script in ``examples/`` that ``long_examples.md`` does not name (``builder-inited``)."""
    root = Path(app.srcdir).parent
    page = Path(app.srcdir) / "long_examples.md"
    text = page.read_text() if page.exists() else ""
    for script in sorted((root / "examples").glob("*")):
        helper = script.name.startswith("_")  # modules the examples import, not examples
        if script.suffix in (".py", ".sh") and not helper and f"examples/{script.name}" not in text:
            logger.warning(f"examples/{script.name} is not listed in {page.name}: add its size and results there",
                           location=str(page))


def setup(app):
    app.add_directive("wavesim-models", ModelsDirective)
    app.add_directive("wavesim-result", ResultDirective)
    app.connect("builder-inited", check_long_examples)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
