"""Both papers' experiments, one ``wavesim reproduce`` command each, run in turn.

Run::

    python examples/paper_experiments.py --out paper_runs                # the CPU sizes (about an hour each)
    python examples/paper_experiments.py --out paper_runs --size paper --max-minutes 7   # on a GPU, in steps
    python examples/paper_experiments.py --out paper_runs --size paper --max-minutes 7 --resume

Each paper's command runs its conditions and controls on its data flow and
writes OUT/PAPER/table.md (next to the paper's numbers), results.json and
figures; docs/paper_experiments.md has the tables of a CPU-size run and the
differences from the authors' code that remain. The same, paper by paper::

    wavesim reproduce may2025 --size cpu --out paper_runs/may2025
    wavesim reproduce ligeralde2023 --size cpu --out paper_runs/ligeralde2023
"""

from __future__ import annotations

import argparse

from wavesim.cli import main as wavesim
from wavesim.errors import ParameterError
from wavesim.reproduce import get_paper


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="paper_runs", help="one folder per paper is made in it")
    parser.add_argument("--size", choices=("cpu", "paper"), default="cpu")
    parser.add_argument("--max-minutes", default=None, help="wall budget of each command, minutes")
    parser.add_argument("--resume", action="store_true", help="carry on the runs saved in --out")
    args = parser.parse_args(argv)
    common = ["--size", args.size] + (["--resume"] if args.resume else [])
    if args.max_minutes is not None:
        common += ["--max-minutes", args.max_minutes]

    # May, Dauphin & Gjorgjieva 2025: next-frame prediction after pre-training on retinal waves.
    status = wavesim(["reproduce", "may2025", "--out", f"{args.out}/may2025", *common])

    # ---- Ligeralde et al. 2023 (issue 24, second half): contrastive pre-training, translation manifolds ----
    try:
        get_paper("ligeralde2023")
    except ParameterError as exc:  # its module is not installed yet
        print(f"ligeralde2023: {exc}")
        return max(status, 2)
    status = max(status, wavesim(["reproduce", "ligeralde2023", "--out", f"{args.out}/ligeralde2023", *common]))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
