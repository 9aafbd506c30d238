"""``wavesim render``: an animated GIF (or MP4) of one stored movie, with time stamps and a scale bar."""

from __future__ import annotations

from pathlib import Path

from ._paths import check_output_file


def register(subparsers) -> None:
    """Add the ``render`` command to ``subparsers``."""
    r = subparsers.add_parser("render", help="animated GIF of a movie, with time stamps and a scale bar")
    r.add_argument("store", help="path of a wavesim store")
    r.add_argument("--movie", type=int, default=0, help="index of a complete movie (default %(default)s)")
    r.add_argument("--out", default=None, help="output .gif (or .mp4 with imageio-ffmpeg) "
                   "(default STORE.movieN.gif next to the store)")
    r.add_argument("--start-s", type=float, default=0.0,
                   help="start of the window within the movie, s (default %(default)g)")
    r.add_argument("--duration-s", type=float, default=None, help="length of the window, s (default: to the end)")
    r.add_argument("--fps", type=float, default=None, help="playback frames/s (default: real time, at most 20)")
    r.set_defaults(func=run)


def run(args) -> int:
    """Render the movie ``args`` name and print the path written."""
    from ..io.render import render_store_movie

    store_path = Path(args.store)
    out = check_output_file(args.out if args.out else store_path.with_suffix(f".movie{args.movie}.gif"), "--out")
    written = render_store_movie(
        store_path, args.movie, path=out, start_s=args.start_s, duration_s=args.duration_s, fps=args.fps
    )
    print(f"wrote {written}")
    return 0
