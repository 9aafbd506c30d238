"""Target movies for training after wave pre-training, made offline with NumPy.

May, Dauphin & Gjorgjieva (2025, PLoS Comput Biol) pre-train predictors on
retinal waves and then train them on "target" movies: 64 x 64 grayscale clips
in [0, 1], 10 frames in and the 11th as the target. Their first target is a
camera moving forward along a corridor (rendered in Blender); further targets
show natural motion. This package makes comparable movies without Blender or
downloads:

- :func:`corridor_movie` (``corridor``): forward motion along a procedural
  corridor with patterned wall panels, ray cast per pixel in NumPy;
- :func:`natural_motion_movie` (``natural_motion``): a camera panning,
  zooming or jittering over a photograph bundled with scikit-image;
- :func:`load_video` (``video``): a user's own video (array or folder of frames);
  :func:`read_target_movie` reads one from a file or folder;
- :func:`make_target_movies` (``dataset``): many movies of one kind,
  deterministic by seed;
- :class:`TargetClips` and :func:`split_movies` (``dataset``): clips for
  training and a train/validation split by movie;
- :func:`target_clips` (``resolve``): train and validation clips of a target
  given by name or path, as ``wavesim pretrain``/``evaluate`` take it.
"""

from .corridor import corridor_movie
from .dataset import TargetClips, make_target_movies, split_movies
from .natural_motion import MOTIONS, NATURAL_IMAGES, natural_motion_movie
from .resolve import TARGETS, target_clips
from .video import FRAME_SUFFIXES, load_video, read_target_movie

__all__ = [
    "FRAME_SUFFIXES",
    "MOTIONS",
    "NATURAL_IMAGES",
    "TARGETS",
    "TargetClips",
    "corridor_movie",
    "load_video",
    "make_target_movies",
    "natural_motion_movie",
    "read_target_movie",
    "split_movies",
    "target_clips",
]
