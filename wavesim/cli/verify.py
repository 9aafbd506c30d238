"""``wavesim verify``: check every chunk of a store and say which movies to regenerate."""

from __future__ import annotations


def register(subparsers) -> None:
    """Add the ``verify`` command to ``subparsers``."""
    v = subparsers.add_parser("verify", help="check every chunk of a store (exit 1 if damaged)")
    v.add_argument("store")
    v.set_defaults(func=run)


def run(args) -> int:
    """Print one line per damaged movie and a summary; return 0 if the store is sound, 1 if not."""
    from ..io.verify import verify_store

    report = verify_store(args.store)
    for m in report.damaged_movies:
        chunks = [d for d in report.damage if d.movie == m]
        print(f"movie {m}: {len(chunks)} damaged chunk(s); first: {chunks[0].describe()}")
    unchecked = " (format version 1: no checksums, only decompression checked)" if report.format_version < 2 else ""
    advice = "" if report.ok else (f" Regenerate movies {report.damaged_movies}: rerun the store's generate "
                                   f"command with --resume --repair.")
    print(f"{report.path}: checked {len(report.checked)} complete of {report.n_movies} movies{unchecked}; "
          f"{len(report.damaged_movies)} damaged.{advice}")
    return 0 if report.ok else 1
