"""One table of the GPU run from the JSON rows of bench_simulate.py and bench_data.py.

Usage: python benchmarks/gpu_summary.py SIMULATE.json DATA.json
"""

import json
import sys

TARGETS = {"simulate": "5e10 cell-upd/s batched, 20x torch", "live": ">= 10,000 clips/s, above train clips/s",
           "store": ">= 2,000 clips/s with 2 workers"}


def main(simulate_json: str, data_json: str) -> None:
    simulate, data = (json.load(open(p)) for p in (simulate_json, data_json))
    print(f"\n{'measure':<44} {'value':>12} {'vs torch / train':>17}  target")
    print("-" * 110)
    for r in simulate:
        if r["backend"] != "cuda":
            continue
        ratio = f"{r['speedup_vs_torch']:.1f}x" if "speedup_vs_torch" in r else "-"
        print(f"{'cell-updates/s, ' + r['case']:<44} {r['cell_updates_per_s']:>12.3g} {ratio:>17}  {TARGETS['simulate']}")
    for r in data:
        kind = "live" if r["case"].startswith("live") else "store"
        train = f"{r['train_clips_per_s']:.0f} train" if "train_clips_per_s" in r else "-"
        print(f"{'clips/s, ' + r['case']:<44} {r['clips_per_s']:>12.0f} {train:>17}  {TARGETS[kind]}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
