"""Target movies: the corridor and natural motions move as claimed, user videos load, clips and splits."""

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skimage")

from skimage.filters import window  # noqa: E402
from skimage.registration import phase_cross_correlation  # noqa: E402

from wavesim.errors import ParameterError, RecordingFormatError, RecordingNotFoundError  # noqa: E402
from wavesim.train.targets import (  # noqa: E402
    MOTIONS,
    NATURAL_IMAGES,
    TargetClips,
    corridor_movie,
    load_video,
    make_target_movies,
    natural_motion_movie,
    split_movies,
)

LEFT, RIGHT = np.s_[:, :21], np.s_[:, 43:]  # thirds of a 64-pixel frame


def lucas_kanade(a, b, region):
    """Least-squares (dx, dy) flow from frame a to frame b over a region (Lucas-Kanade)."""
    gy, gx = np.gradient((a + b) / 2)
    gx, gy, gt = gx[region], gy[region], (b - a)[region]
    matrix = [[np.sum(gx * gx), np.sum(gx * gy)], [np.sum(gx * gy), np.sum(gy * gy)]]
    return np.linalg.solve(matrix, [-np.sum(gx * gt), -np.sum(gy * gt)])


def horizontal_flow(movie, region):
    movie = movie.astype(np.float64)
    return np.mean([lucas_kanade(movie[t], movie[t + 1], region)[0] for t in range(len(movie) - 1)])


def assert_movie(movie, shape, min_std=0.05):
    assert movie.shape == shape and movie.dtype == np.float32
    assert movie.min() >= 0 and movie.max() <= 1
    assert movie.std() > min_std  # not blank


# --------------------------------------------------------------------------- corridor


def test_corridor_shape_range_and_seeds():
    movie = corridor_movie(6, seed=3)
    assert_movie(movie, (6, 64, 64))
    assert np.array_equal(movie, corridor_movie(6, seed=3))
    assert not np.allclose(movie, corridor_movie(6, seed=4))
    assert_movie(corridor_movie(3, size_px=32, supersample=3, fov_deg=60, floor_and_ceiling=False), (3, 32, 32))


@pytest.mark.parametrize("seed", [0, 1])
def test_corridor_flow_expands_from_the_centre(seed):
    movie = corridor_movie(8, seed=seed)
    assert horizontal_flow(movie, LEFT) < -0.4  # left wall moves left
    assert horizontal_flow(movie, RIGHT) > 0.4  # right wall moves right
    assert np.abs(np.diff(movie, axis=0)).mean() > 0.01


def test_corridor_backwards_contracts_and_still_is_still():
    movie = corridor_movie(8, speed_units_per_frame=-0.1, seed=2)
    assert horizontal_flow(movie, LEFT) > 0.4 and horizontal_flow(movie, RIGHT) < -0.4
    still = corridor_movie(3, speed_units_per_frame=0.0)
    assert np.array_equal(still[0], still[2])


@pytest.mark.parametrize("kw, name", [
    (dict(n_frames=0), "n_frames"),
    (dict(fov_deg=180), "fov_deg"),
    (dict(speed_units_per_frame=float("nan")), "speed_units_per_frame"),
    (dict(half_width_units=0), "half_width_units"),
    (dict(floor_shade=1.5), "floor_shade"),
    (dict(supersample=0), "supersample"),
    (dict(panel_length_units=(3.0, 1.0)), "panel_length_units"),
    (dict(size_px=2.5), "size_px"),
])
def test_corridor_rejects_bad_parameters(kw, name):
    kw = {"n_frames": 2, **kw}
    with pytest.raises(ParameterError, match=name):
        corridor_movie(kw.pop("n_frames"), **kw)


# --------------------------------------------------------------------------- natural motion


def test_bundled_images_load_offline():
    import skimage.data

    shipped = {path.stem for path in Path(skimage.data.__file__).parent.iterdir()}
    for name in NATURAL_IMAGES:
        assert name in shipped  # a file inside the package: no download
        assert_movie(natural_motion_movie(name, 2, size_px=16), (2, 16, 16), min_std=0.02)


@pytest.mark.parametrize("motion", MOTIONS)
def test_natural_motion_shape_range_and_seeds(motion):
    movie = natural_motion_movie(None, 12, motion=motion, seed=5)
    assert_movie(movie, (12, 64, 64))
    assert np.array_equal(movie, natural_motion_movie(None, 12, motion=motion, seed=5))
    assert not np.allclose(movie, natural_motion_movie(None, 12, motion=motion, seed=6))


@pytest.mark.parametrize("image", ["chelsea", "camera", "grass"])
def test_pan_velocity_is_recovered_by_phase_correlation(image):
    velocity = np.array([-0.5, 1.5])  # (rows, columns): up 0.5, right 1.5 pixels per frame
    movie, motion = natural_motion_movie(image, 11, motion="pan", velocity_px=velocity, seed=1, return_motion=True)
    assert np.allclose(motion["displacement_px"], velocity)
    hann = window("hann", movie.shape[1:])  # tapers the edges where the scene enters and leaves
    shifts = [phase_cross_correlation(movie[t + 1] * hann, movie[t] * hann, upsample_factor=50)[0]
              for t in range(len(movie) - 1)]
    assert np.abs(np.mean(shifts, axis=0) - velocity).max() < 0.1
    assert np.abs(np.array(shifts) - velocity).max() < 0.3


@pytest.mark.parametrize("zoom, sign", [("in", 1), ("out", -1)])
def test_zoom_in_expands_and_zoom_out_contracts(zoom, sign):
    movie, motion = natural_motion_movie("chelsea", 10, motion="zoom", zoom=zoom, zoom_per_frame=1.04, seed=0,
                                         return_motion=True)
    assert np.all(sign * np.diff(motion["magnification"]) > 0)
    assert np.allclose(motion["magnification"][1:] / motion["magnification"][:-1], 1.04 ** sign)
    assert sign * horizontal_flow(movie, LEFT) < -0.2
    assert sign * horizontal_flow(movie, RIGHT) > 0.2


def test_jitter_makes_small_random_shifts():
    movie, motion = natural_motion_movie("astronaut", 20, motion="jitter", jitter_px=0.3, seed=2, return_motion=True)
    steps = np.abs(motion["displacement_px"])
    assert 0 < steps.max() < 1.5 and np.all(motion["magnification"] == 1)
    shifts = [phase_cross_correlation(movie[t + 1], movie[t], upsample_factor=20)[0] for t in range(19)]
    assert np.abs(shifts).max() < 2
    assert np.abs(np.diff(movie, axis=0)).mean() > 0.001


@pytest.mark.parametrize("motion", MOTIONS)
def test_the_view_stays_inside_the_image(motion):
    fraction = 0.8
    _, info = natural_motion_movie("coffee", 150, motion=motion, view_fraction=fraction, speed_px_per_frame=3,
                                   seed=3, return_motion=True)
    shape = np.array([400, 600])
    half = fraction * shape.min() / 2 / info["magnification"][:, None]
    assert np.all(info["center_px"] - half >= -1) and np.all(info["center_px"] + half <= shape + 1)
    assert 1 <= info["magnification"].min() and info["magnification"].max() <= 3 + 1e-9
    if motion == "mixed":
        assert len(set(info["motion"])) > 1


def test_natural_motion_takes_arrays_and_rejects_bad_input():
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (100, 120), dtype=np.uint8)
    assert_movie(natural_motion_movie(gray, 3, size_px=32), (3, 32, 32))
    rgb = np.repeat(gray[..., None], 3, axis=2)
    assert np.allclose(natural_motion_movie(rgb, 3, seed=1), natural_motion_movie(gray, 3, seed=1), atol=1e-6)
    with pytest.raises(ParameterError, match="unknown image"):
        natural_motion_movie("lena", 3)
    with pytest.raises(ParameterError, match="image must be"):
        natural_motion_movie(np.zeros((4, 5, 6, 3)), 3)
    with pytest.raises(ParameterError, match="motion"):
        natural_motion_movie("camera", 3, motion="spin")
    with pytest.raises(ParameterError, match="zoom_per_frame"):
        natural_motion_movie("camera", 3, motion="zoom", zoom_per_frame=0.9)
    with pytest.raises(ParameterError, match="velocity_px"):
        natural_motion_movie("camera", 3, velocity_px=(1.0, 2.0, 3.0))


# --------------------------------------------------------------------------- user videos


def test_load_video_from_array_and_from_a_folder_of_pngs_agree(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(1)
    video = rng.integers(0, 256, (12, 40, 50, 3), dtype=np.uint8)
    for t, frame in enumerate(video):  # unpadded names: natural order puts frame_2 before frame_10
        Image.fromarray(frame).save(tmp_path / f"frame_{t}.png")
    (tmp_path / "notes.txt").write_text("not a frame")
    from_array = load_video(video, size_px=16)
    assert_movie(from_array, (12, 16, 16))
    assert np.array_equal(load_video(tmp_path, size_px=16), from_array)
    assert np.array_equal(load_video(str(tmp_path), size_px=16, n_frames=5), from_array[:5])


def test_load_video_area_averages_and_scales_dtypes():
    blocks = np.random.default_rng(2).random((2, 8, 8))
    video = np.kron(blocks, np.ones((4, 4)))  # each value fills a 4 x 4 block
    assert np.allclose(load_video(video, size_px=8), blocks, atol=1e-6)
    assert np.allclose(load_video((video * 65535).astype(np.uint16), size_px=8), blocks, atol=1e-4)
    stretched = load_video(video * 10 - 3, size_px=8)
    assert np.isclose(stretched.min(), 0) and np.isclose(stretched.max(), 1)
    assert load_video(np.ones((2, 6, 6, 4), np.uint8) * 255, size_px=3).max() == pytest.approx(1.0)
    narrow = np.random.default_rng(3).random((2, 6, 3))  # grayscale 6 x 3 frames, not RGB
    assert np.allclose(load_video(narrow, size_px=3), narrow[:, 1:4], atol=1e-6)


def test_load_video_errors(tmp_path):
    from PIL import Image

    with pytest.raises(RecordingNotFoundError, match="no video"):
        load_video(tmp_path / "missing")
    with pytest.raises(FileNotFoundError):
        load_video(tmp_path / "missing")
    with pytest.raises(RecordingFormatError, match="no frame images"):
        load_video(tmp_path)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((8, 9), np.uint8)).save(tmp_path / "b.png")
    with pytest.raises(RecordingFormatError, match="b.png"):
        load_video(tmp_path)
    with pytest.raises(ParameterError, match="only 2"):
        load_video(tmp_path, n_frames=3)
    for bad in (np.zeros((8, 8)), np.zeros((2, 8, 8, 2)), np.zeros((0, 8, 8))):
        with pytest.raises(ParameterError, match="video"):
            load_video(bad)
    with pytest.raises(ParameterError, match="NaN"):
        load_video(np.full((2, 4, 4), np.nan))


# --------------------------------------------------------------------------- datasets


@pytest.mark.parametrize("kind", ["corridor", "natural"])
def test_make_target_movies_is_deterministic_per_movie(kind):
    movies = make_target_movies(kind, 3, 4, size_px=32, seed=7)
    assert_movie(movies, (3, 4, 32, 32))
    assert np.array_equal(make_target_movies(kind, 2, 4, size_px=32, seed=7), movies[:2])
    assert not np.allclose(make_target_movies(kind, 3, 4, size_px=32, seed=8), movies)
    assert not np.allclose(movies[0], movies[1])


def test_make_target_movies_options_and_errors():
    movies = make_target_movies("natural", 2, 3, size_px=16, images=["camera"], motions=["jitter"], jitter_px=0.1)
    assert movies.shape == (2, 3, 16, 16)
    with pytest.raises(ParameterError, match="kind"):
        make_target_movies("forest", 1, 3)
    with pytest.raises(ParameterError, match="fov_deg"):
        make_target_movies("corridor", 1, 3, fov_deg=0)


def test_target_clips_are_the_movie_frames():
    movies = np.random.default_rng(3).random((3, 20, 8, 8)).astype(np.float32)
    clips = TargetClips(movies, clip_frames=11, clip_step=4)
    assert len(clips) == 3 * 3  # starts 0, 4, 8
    for i in range(len(clips)):
        where = clips.clip(i)
        first = where["first_frame"]
        item = clips[i]
        assert item.dtype == torch.float32 and item.shape == (11, 8, 8)
        assert torch.equal(item, torch.from_numpy(movies[where["movie"], first : first + 11]))
    assert clips.clip(4) == {"movie": 1, "first_frame": 4}
    batch = next(iter(torch.utils.data.DataLoader(clips, batch_size=4)))
    assert batch.shape == (4, 11, 8, 8)
    assert len(TargetClips(movies)) == 3 * 10
    with pytest.raises(ParameterError, match="clip_frames"):
        TargetClips(movies, clip_frames=21)
    with pytest.raises(ParameterError, match="N, T, H, W"):
        TargetClips(movies[0])
    with pytest.raises(IndexError):
        clips[len(clips)]


def test_split_movies_never_shares_a_movie():
    movies = np.arange(10, dtype=np.float32)[:, None, None, None] * np.ones((10, 2, 3, 3), np.float32)
    train, validation = split_movies(movies, 0.3, seed=1)
    ids_train, ids_val = set(train[:, 0, 0, 0].tolist()), set(validation[:, 0, 0, 0].tolist())
    assert len(ids_val) == 3 and len(ids_train) == 7
    assert not ids_train & ids_val and ids_train | ids_val == set(range(10))
    again = split_movies(movies, 0.3, seed=1)
    assert np.array_equal(again[1], validation)
    assert any(set(split_movies(movies, 0.3, seed=s)[1][:, 0, 0, 0].tolist()) != ids_val for s in range(2, 6))
    assert len(split_movies(movies[:2], 0.01)[1]) == 1
    with pytest.raises(ParameterError, match="validation_fraction"):
        split_movies(movies, 1.0)
    with pytest.raises(ParameterError, match="at least 2"):
        split_movies(movies[:1], 0.5)
