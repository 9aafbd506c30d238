"""Images for Ligeralde et al.'s translation manifolds: CIFAR-100's test set, or photographs scikit-image ships.

Their manifold experiment (``src/mftma_analysis.py``, ``src/data.py`` and
``src/mftma/utils/make_manifold_data.py`` of chung-neuroai-lab/retinal_waves_learning
at f39aa6d; ``scripts/submit_experiments_command_line.sh`` for the values):
50 images of CIFAR-100's test set drawn with Python's ``random.sample``
after ``random.seed(SEED)``, each under 20 draws of torchvision's
``RandomAffine(0, translate=(0.1, 0.1))`` (whole-pixel shifts of at most
``round(3.2) = 3`` px, vacated pixels black), then ``ToTensor`` and
``Normalize`` with CIFAR-100's channel means and sds.

CIFAR-100 is not downloaded here: :func:`read_cifar100_test` reads the test
file of the standard python version (``cifar-100-python/test``) from a path
the user gives. Where none is given, :func:`natural_images` cuts 32 x 32
colour crops from the photographs scikit-image ships, and the same protocol
runs on them.
"""

from __future__ import annotations

import functools
import io
import pickle
import random
from pathlib import Path

import numpy as np
import torch

from wavesim.errors import ImageSetError, ImageSetNotFoundError, ParameterError
from wavesim.validate import check_int, check_number

__all__ = ["CIFAR100_MEAN", "CIFAR100_STD", "NATURAL_PHOTOGRAPHS", "natural_images", "read_cifar100_test",
           "sample_images", "translated_images"]

#: Their ``Normalize`` constants (CIFAR-100's channel means and sds).
CIFAR100_MEAN = (0.5071, 0.4867, 0.4408)
CIFAR100_STD = (0.2675, 0.2565, 0.2761)
#: Colour photographs shipped in scikit-image's data folder (no download).
NATURAL_PHOTOGRAPHS = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle_left")
IMAGE_PX = 32
# Photographs are downscaled to this shorter side, so that a 32 px crop holds a piece of a scene, as a CIFAR image does.
_PHOTO_SHORT_SIDE_PX = 96
# Crops flatter than this (sd of values in [0, 1]) are drawn again.
_MIN_CROP_SD = 0.05
# What the CIFAR pickle may construct: numpy arrays and dtypes (and bytes, which protocol 2 encodes), nothing else.
_ALLOWED_GLOBALS = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, bytes and numpy arrays only, so that a hostile file cannot run code."""

    def find_class(self, module, name):
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a CIFAR file")


def _cifar_test_file(path: Path) -> Path:
    for candidate in (path, path / "test", path / "cifar-100-python" / "test"):
        if candidate.is_file():
            return candidate
    raise ImageSetNotFoundError(
        f"no CIFAR-100 test file at {path}: give the 'cifar-100-python' folder of the python version "
        f"(https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz, unpacked), its parent, or its 'test' file.")


def read_cifar100_test(path) -> tuple[np.ndarray, np.ndarray]:
    """The images and fine labels of CIFAR-100's test set, from the python version's pickle.

    Parameters
    ----------
    path : str or Path
        The ``cifar-100-python`` folder, its parent, or the ``test`` file.

    Returns
    -------
    images : ndarray of uint8, (N, 3, 32, 32)
        RGB images (10,000 in the real test set).
    labels : ndarray of int64, (N,)
        Fine labels (0..99).
    """
    file = _cifar_test_file(Path(path))
    try:
        with open(file, "rb") as handle:
            content = _ArrayUnpickler(io.BytesIO(handle.read()), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
        raise ImageSetError(f"{file} is not a CIFAR-100 python pickle: {error}") from None
    if not isinstance(content, dict) or b"data" not in content or b"fine_labels" not in content:
        keys = sorted(content) if isinstance(content, dict) else type(content).__name__
        raise ImageSetError(f"{file} is not CIFAR-100's test file: it needs b'data' and b'fine_labels', has {keys}")
    data = np.asarray(content[b"data"])
    labels = np.asarray(content[b"fine_labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * IMAGE_PX * IMAGE_PX \
            or labels.shape != (data.shape[0],):
        raise ImageSetError(f"{file}: b'data' must be (N, 3072) uint8 with one fine label per row, got "
                             f"{data.shape} {data.dtype} and {labels.shape[0]} labels")
    return data.reshape(-1, 3, IMAGE_PX, IMAGE_PX), labels


def sample_images(images: np.ndarray, n_images: int, seed: int) -> np.ndarray:
    """``n_images`` of ``images`` chosen as theirs: ``random.Random(seed).sample(range(len(images)), n_images)``."""
    n_images = check_int("n_images", n_images, low=2, high=len(images), what="the images there are")
    return images[random.Random(seed).sample(range(len(images)), n_images)]


@functools.lru_cache(maxsize=None)
def _photograph(name: str) -> np.ndarray:
    """A shipped colour photograph as float RGB in [0, 1], downscaled to a shorter side of 96 px."""
    import skimage.data
    from skimage.transform import rescale
    from skimage.util import img_as_float

    image = skimage.data.stereo_motorcycle()[0] if name == "motorcycle_left" else getattr(skimage.data, name)()
    image = img_as_float(image[..., :3])
    image = rescale(image, _PHOTO_SHORT_SIDE_PX / min(image.shape[:2]), anti_aliasing=True, channel_axis=-1)
    image.setflags(write=False)
    return image


def natural_images(n_images: int, seed: int) -> np.ndarray:
    """``n_images`` 32 x 32 colour crops of scikit-image's photographs (:data:`NATURAL_PHOTOGRAPHS`), in turn.

    Each crop's place is drawn from ``seed``; crops with a value sd below
    0.05 (flat sky, walls) are drawn again.

    Returns
    -------
    ndarray of uint8, (n_images, 3, 32, 32)
    """
    n_images = check_int("n_images", n_images, low=2)
    rng = np.random.default_rng(seed)
    crops = [textured_crop(_photograph(NATURAL_PHOTOGRAPHS[index % len(NATURAL_PHOTOGRAPHS)]), IMAGE_PX, rng,
                           _MIN_CROP_SD) for index in range(n_images)]
    return np.stack([np.round(crop * 255).astype(np.uint8).transpose(2, 0, 1) for crop in crops])


def textured_crop(photo: np.ndarray, crop_px: int, rng: np.random.Generator, min_sd: float,
                  tries: int = 100) -> np.ndarray:
    """A random ``crop_px`` square of ``photo`` (H, W[, C]) whose values have an sd of at least ``min_sd``.

    Places are drawn (row, then column) until one qualifies; after ``tries``
    draws the last one is taken.
    """
    for _ in range(tries):
        row = rng.integers(0, photo.shape[0] - crop_px + 1)
        col = rng.integers(0, photo.shape[1] - crop_px + 1)
        crop = photo[row:row + crop_px, col:col + crop_px]
        if crop.std() >= min_sd:
            break
    return crop


def translated_images(images: np.ndarray, n_translations: int = 20, *, max_shift_fraction: float = 0.1,
                      generator: torch.Generator) -> tuple[torch.Tensor, np.ndarray]:
    """Their translation manifolds: every image under ``n_translations`` random whole-pixel shifts, normalised.

    As torchvision's ``RandomAffine(0, translate=(f, f))`` draws them, one
    draw after another: an angle (0, unused), then the shift along x and
    along y, each ``round(uniform(-f * 32, f * 32))`` pixels (at most 3 for
    f = 0.1); the image moves right by dx and down by dy, vacated pixels
    black. Then ``/ 255`` and their ``Normalize`` (:data:`CIFAR100_MEAN`,
    :data:`CIFAR100_STD`).

    Parameters
    ----------
    images : ndarray of uint8, (P, 3, 32, 32)
    n_translations : int
        Shifted copies per image (20).
    max_shift_fraction : float
        Their ``translate`` fraction (0.1).
    generator : torch.Generator
        Source of the shifts.

    Returns
    -------
    manifolds : torch.Tensor
        (P, n_translations, 3, 32, 32) float32.
    shifts : ndarray of int, (P, n_translations, 2)
        (dy, dx) of every copy, in pixels.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != (3, IMAGE_PX, IMAGE_PX) or images.dtype != np.uint8:
        raise ParameterError(f"images must be (P, 3, 32, 32) uint8, got {images.shape} {images.dtype}")
    n_translations = check_int("n_translations", n_translations, low=2, what="points per manifold")
    max_shift_fraction = check_number("max_shift_fraction", max_shift_fraction)
    if not 0 <= max_shift_fraction < 1:
        raise ParameterError(f"max_shift_fraction must be in [0, 1) (theirs: 0.1), got {max_shift_fraction!r}")
    limit = max_shift_fraction * IMAGE_PX
    draws = torch.rand(len(images), n_translations, 3, generator=generator, dtype=torch.float64).numpy()
    # Python's round, as torchvision's (halves to even; a draw is never exactly half a pixel)
    shifts = np.vectorize(round)(-limit + 2 * limit * draws[..., [2, 1]]).astype(np.int64)  # (dy, dx)
    out = np.zeros((len(images), n_translations, 3, IMAGE_PX, IMAGE_PX), dtype=np.uint8)
    for p, image in enumerate(images):
        for t, (dy, dx) in enumerate(shifts[p]):
            rows_to, rows_from = slice(max(dy, 0), IMAGE_PX + min(dy, 0)), slice(max(-dy, 0), IMAGE_PX + min(-dy, 0))
            cols_to, cols_from = slice(max(dx, 0), IMAGE_PX + min(dx, 0)), slice(max(-dx, 0), IMAGE_PX + min(-dx, 0))
            out[p, t, :, rows_to, cols_to] = image[:, rows_from, cols_from]
    mean = torch.tensor(CIFAR100_MEAN).view(1, 1, 3, 1, 1)
    sd = torch.tensor(CIFAR100_STD).view(1, 1, 3, 1, 1)
    return (torch.from_numpy(out).float() / 255 - mean) / sd, shifts
