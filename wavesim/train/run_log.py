"""The metrics of a training run, one row per logged step or epoch: CSV, JSON and learning curves."""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path
from typing import Any

__all__ = ["RunLog"]


class RunLog:
    """Metrics of a run, one row per logged step or epoch; written as CSV and JSON, plotted as learning curves."""

    def __init__(self):
        self.rows: list[dict[str, Any]] = []

    def add(self, **row) -> None:
        self.rows.append(row)

    def write(self, folder) -> dict[str, str]:
        """Write ``log.csv``, ``log.json`` and ``learning_curves.png`` into ``folder``; return their paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        keys = sorted({k for row in self.rows for k in row})
        with open(folder / "log.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=keys)
            writer.writeheader()
            writer.writerows(self.rows)
        (folder / "log.json").write_text(json.dumps(self.rows, indent=1))
        self.plot(folder / "learning_curves.png")
        return {name: str(folder / name) for name in ("log.csv", "log.json", "learning_curves.png")}

    def plot(self, path) -> None:
        # a bare Figure draws with Agg on savefig, without pyplot switching the process's backend
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7, 4))
        ax = fig.subplots()
        for (phase, metric), rows in itertools.groupby(
            sorted((r for r in self.rows if "value" in r), key=lambda r: (r["phase"], r["metric"])),
            key=lambda r: (r["phase"], r["metric"]),
        ):
            rows = list(rows)
            ax.plot([r["update"] for r in rows], [r["value"] for r in rows], label=f"{phase}: {metric}",
                    marker="o" if len(rows) < 30 else None)
        ax.set_xlabel("update")
        ax.set_ylabel("loss")
        ax.set_yscale("log")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=120)

