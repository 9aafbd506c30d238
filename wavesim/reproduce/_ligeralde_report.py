"""Tables and figure of ``wavesim reproduce ligeralde2023``: capacity per layer and network, over seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

LABELS = {"pretrained": "pre-trained on waves", "temporal_shuffle": "waves shuffled in time",
          "spatial_shuffle": "waves shuffled in space", "spatiotemporal_shuffle": "waves shuffled in time and space",
          "random_init": "random initialisation", "shuffled_entries": "pre-trained, weights shuffled (entries)",
          "shuffled_filters": "pre-trained, weights shuffled (filters)"}


def _short(layer: str) -> str:
    return layer.removeprefix("backbone.")


def _values(results: dict, network: str, quantity: str) -> dict[str, list[float]]:
    """Layer ("input" first) -> the quantity over the seeds that have ``network``."""
    per_layer: dict[str, list[float]] = {}
    for runs in results["runs"].values():
        if network not in runs:
            continue
        manifolds = runs[network]["manifolds"]
        per_layer.setdefault("input", []).append(manifolds["pixels"][quantity])
        for layer, geometry in manifolds["layers"].items():
            per_layer.setdefault(layer, []).append(geometry[quantity])
    return per_layer


def _mean_sd(values, digits: int = 4) -> str:
    values = np.asarray(values, dtype=float)
    sd = values.std(ddof=1) if values.size > 1 else 0.0
    return f"{values.mean():.{digits}f} +- {sd:.{digits}f}"


def capacity_tables(results: dict) -> str:
    """Markdown: capacity per layer and network (mean +- sd over seeds), and pre-trained minus each other network."""
    networks = [n for n in LABELS if any(n in runs for runs in results["runs"].values())]
    capacity = {n: _values(results, n, "capacity") for n in networks}
    layers = list(capacity[networks[0]])
    lines = ["Capacity alpha_M per layer, mean +- sd over seeds:", "",
             "| network | " + " | ".join(_short(layer) for layer in layers) + " |",
             "|---|" + "---|" * len(layers)]
    for n in networks:
        lines.append(f"| {LABELS[n]} | " + " | ".join(_mean_sd(capacity[n][layer]) for layer in layers) + " |")
    if "pretrained" in capacity:
        layers = layers[1:]  # the input is the same for every network
        lines += ["", "Pre-trained minus each other network, per layer: mean difference over seeds (seeds where "
                  "pre-trained is higher / seeds):", "",
                  "| pre-trained minus | " + " | ".join(_short(layer) for layer in layers) + " |",
                  "|---|" + "---|" * len(layers)]
        for n in networks:
            if n == "pretrained":
                continue
            cells = []
            for layer in layers:
                difference = np.subtract(capacity["pretrained"][layer], capacity[n][layer])
                cells.append(f"{difference.mean():+.4f} ({int((difference > 0).sum())}/{difference.size})")
            lines.append(f"| {LABELS[n]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def training_table(results: dict) -> str:
    """Markdown: the last epoch's training and validation loss of each pre-trained network, mean +- sd over seeds."""
    lines = ["| network | epochs | batches per epoch | training loss, last epoch | validation loss, last epoch |",
             "|---|---|---|---|---|"]
    for network in ("pretrained", "temporal_shuffle", "spatial_shuffle", "spatiotemporal_shuffle"):
        runs = [r[network] for r in results["runs"].values() if network in r]
        if not runs:
            continue
        train = [r["training"][-1]["loss"] for r in runs]
        validation = [r["training"][-1]["validation_loss"] for r in runs
                      if r["training"][-1]["validation_loss"] is not None]
        lines.append(f"| {LABELS[network]} | {runs[0]['training'][-1]['epoch']} | {runs[0]['batches_per_epoch']} | "
                     f"{_mean_sd(train, 3)} | {_mean_sd(validation, 3) if validation else 'none'} |")
    return "\n".join(lines)


def _seed_means(results: dict) -> dict:
    """Per network, a translation_manifolds-like dict of the seed means (capacity_stderr: sd over seeds / sqrt(n))."""
    by_network = {}
    for network in LABELS:
        runs = [r[network]["manifolds"] for r in results["runs"].values() if network in r]
        if not runs:
            continue

        def mean_of(getter):
            out = {}
            for key in ("capacity", "radius", "dimension"):
                values = np.array([getter(m)[key] for m in runs])
                out[key] = float(values.mean())
                if key == "capacity":
                    out["capacity_stderr"] = float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 \
                        else 0.0
            return out

        by_network[LABELS[network]] = {
            "layers": {_short(layer): mean_of(lambda m, layer=layer: m["layers"][layer]) for layer in runs[0]["layers"]},
            "pixels": mean_of(lambda m: m["pixels"])}
    return by_network


def write_report(folder: Path, results: dict) -> str:
    """Write ``tables.md`` and ``capacity.png`` into ``folder``; return the tables' text."""
    from ..train.evaluate import plot_translation_manifolds

    settings = results["settings"]
    timings = results["timings"]
    text = "\n".join([
        f"wavesim reproduce ligeralde2023 --size {settings['size']} (batching: {settings['batching']}); "
        f"seeds {', '.join(map(str, settings['seeds']))}",
        f"waves: {results['waves']['waves']} waves, {results['waves']['frames']} frames ({results['waves']['source']})",
        f"manifold images: {results['images']}",
        f"wall time {timings['wall_s'] / 60:.1f} min in {timings['invocations']} invocation(s); CPU time of the "
        f"process {timings['cpu_s'] / 60:.1f} min", "",
        capacity_tables(results), "", "Pre-training:", "", training_table(results), ""])
    (folder / "tables.md").write_text(text)
    plot_translation_manifolds(_seed_means(results), folder / "capacity.png")
    return text
