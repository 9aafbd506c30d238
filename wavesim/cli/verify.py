"""``wavesim verify``: check every chunk of a store and say which movies to regenerate."""

from __future__ import annotations


def register(subparsers) -> None:
    """Add the ``verify`` command to ``subparsers``."""
    v = subparsers.add_parser("verify", help="check every chunk of a store and its wave tables (exit 1 if damaged)")
    v.add_argument("store", help="path of a wavesim store")
    v.set_defaults(func=run)


def run(args) -> int:
    """Print one line per damaged movie and a summary; return 0 if the store is sound, 1 if not."""
    from ..io.verify import verify_store

    report = verify_store(args.store)
    for m in report.damaged_movies:
        chunks = [d for d in report.damage if d.movie == m]
        print(f"movie {m}: {len(chunks)} damaged chunk(s); first: {chunks[0].describe()}")
    if report.wave_tables_problem is not None:
        print(report.wave_tables_problem)
    unchecked = " (format version 1: no checksums, only decompression checked)" if report.format_version < 2 else ""
    advice = "" if not report.damage else (f" Regenerate movies {report.damaged_movies}: rerun the store's generate "
                                           f"command with --resume --repair.")
    tables = "" if report.wave_tables_problem is None else " The wave tables are damaged."
    print(f"{report.path}: checked {len(report.checked)} complete of {report.n_movies} movies{unchecked}; "
          f"{len(report.damaged_movies)} damaged.{advice}{tables}")
    return 0 if report.ok else 1
