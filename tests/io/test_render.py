"""Tests for wavesim.io.render: GIF output and input validation."""

import sys

import numpy as np
import pytest

PIL = pytest.importorskip("PIL")
from PIL import Image, ImageChops  # noqa: E402

from wavesim.errors import MissingDependencyError, MovieIndexError, ParameterError, StoreError  # noqa: E402
from wavesim.io.render import render_movie, render_store_movie  # noqa: E402


def moving_bar(n_frames=12, height=16, width=24):
    """Return a binary (T, H, W) uint8 movie of a vertical bar moving right one pixel per frame."""
    frames = np.zeros((n_frames, height, width), dtype=np.uint8)
    for t in range(n_frames):
        frames[t, :, t % width] = 1
    return frames


def test_gif_frames_size_and_motion(tmp_path):
    frames = moving_bar()
    out = render_movie(
        frames, um_per_pixel=34.0, frame_period_s=0.5, path=tmp_path / "bar.gif", title="bar"
    )
    assert out == tmp_path / "bar.gif"
    with Image.open(out) as gif:
        assert gif.n_frames == len(frames)
        width, height = gif.size
        # 24 px wide movie, upscaled x14 to reach >= 320 px; title and time strips add height.
        assert width == 24 * 14
        assert height > 16 * 14
        assert gif.info["duration"] == 500  # 2 frames/s: real time
        rendered = []
        for i in range(gif.n_frames):
            gif.seek(i)
            rendered.append(gif.convert("RGB"))
    for previous, current in zip(rendered, rendered[1:]):
        assert ImageChops.difference(previous, current).getbbox() is not None


def test_default_fps_is_capped(tmp_path):
    out = render_movie(
        moving_bar(n_frames=3), um_per_pixel=10.0, frame_period_s=0.025, path=tmp_path / "fast.gif"
    )
    with Image.open(out) as gif:
        assert gif.info["duration"] == 50  # 20 frames/s, not 40


def test_calcium_movie_and_explicit_options(tmp_path):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(4, 10, 10), dtype=np.uint8)
    out = render_movie(
        frames,
        um_per_pixel=20.0,
        frame_period_s=0.1,
        path=tmp_path / "sub" / "ca.gif",
        fps=5,
        scale_bar_um=50,
        upscale=40,
        start_time_s=60.0,
    )
    with Image.open(out) as gif:
        assert gif.n_frames == 4
        assert gif.size[0] == 400
        assert gif.info["duration"] == 200


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"frames": np.zeros((4, 8, 8), dtype=np.float32)}, "frames must be a 3-D uint8"),
        ({"frames": np.zeros((8, 8), dtype=np.uint8)}, "frames must be a 3-D uint8"),
        ({"frames": np.zeros((0, 8, 8), dtype=np.uint8)}, "at least one frame"),
        ({"um_per_pixel": 0.0}, r"um_per_pixel must be a finite number > 0, got 0\.0"),
        ({"frame_period_s": -1}, "frame_period_s must be a finite number > 0, got -1"),
        ({"fps": float("nan")}, "fps must be a finite number > 0"),
        ({"upscale": 0}, "upscale must be a positive integer, got 0"),
        ({"upscale": 2.5}, "upscale must be a positive integer"),
        ({"scale_bar_um": 1e6}, "scale_bar_um must give a bar"),
        ({"path": "movie.png"}, r"path must end in \.gif or \.mp4"),
    ],
)
def test_bad_inputs_raise(tmp_path, kwargs, match):
    args = {
        "frames": moving_bar(n_frames=2),
        "um_per_pixel": 34.0,
        "frame_period_s": 0.5,
        "path": tmp_path / "bad.gif",
    }
    args.update(kwargs)
    if not str(args["path"]).startswith(str(tmp_path)):
        args["path"] = tmp_path / args["path"]
    with pytest.raises(ParameterError, match=match):
        render_movie(args.pop("frames"), **args)
    assert not (tmp_path / "bad.gif").exists()


def test_mp4_without_imageio_says_use_gif(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio", None)
    with pytest.raises(MissingDependencyError, match=r"use a \.gif path"):
        render_movie(
            moving_bar(n_frames=2), um_per_pixel=34.0, frame_period_s=0.5, path=tmp_path / "m.mp4"
        )


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"fps": 0}, ParameterError, "fps must be a finite number > 0"),
        ({"start_s": -10.0}, ParameterError, "start_s must be a finite number of seconds >= 0"),
        ({"start_s": float("nan")}, ParameterError, "start_s must be a finite number of seconds >= 0"),
        ({"duration_s": 0.0}, ParameterError, "duration_s must be a finite number > 0"),
        ({"start_s": 20.0}, ParameterError, r"start_s = 20 s is at or past the end of movie 0, which lasts 20 s \(40 frames"),
        ({"path": "m.png"}, ParameterError, r"path must end in \.gif or \.mp4"),
        ({"movie": 9}, MovieIndexError, "movie 9 is outside"),
        ({"movie": 1}, StoreError, "movie 1 of .* is not completely written"),
    ],
)
def test_render_store_movie_checks_its_window(unfinished_store, tmp_path, kwargs, error, match):
    args = {"movie": 0, "path": tmp_path / "m.gif", **kwargs}
    args["path"] = tmp_path / args["path"]
    with pytest.raises(error, match=match):
        render_store_movie(unfinished_store[0], args.pop("movie"), **args)
    assert not args["path"].exists()


def test_render_store_movie_window(unfinished_store, tmp_path):
    gif = render_store_movie(unfinished_store[0], 2, path=tmp_path / "m.gif", start_s=5.0, duration_s=2.0)
    with Image.open(gif) as im:
        assert im.n_frames == 4
