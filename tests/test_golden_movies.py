"""Golden checksums: moving or restructuring code must not change one byte of any movie.

The SHA-256 digests below were taken at commit 356c052, before the model
interface and the new layout, from stores written by ``generate_store`` and
from a batch of three parameter sets read directly from a ``Simulation``.
They cover both readouts, rectangle and disc retinas, two presets and Poisson
drive on and off. If one changes, a change of the rule, the generator, the
lattice or the readout changed the science: that needs a decision, not a new
digest.
"""

import hashlib

import numpy as np
import pytest

import wavesim as ws
from wavesim.generate import generate_store
from wavesim.io.store import DatasetSpec, open_store


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


STORES = {
    "mouse-rectangle-binary": (
        dict(params=ws.preset("mouse"), retina=ws.Retina(width_um=1200, height_um=1000),
             readout=ws.Readout(um_per_pixel=50, frame_period_s=1.0), seed=7),
        "1255a9598f7bfa83dbc7098636022dfaebbada9a58a5540eded40ef4d7a8407c",
    ),
    "turtle-disc-calcium": (
        dict(params=ws.preset("turtle"), retina=ws.Retina(width_um=1200, height_um=1000, shape="disc"),
             readout=ws.Readout(um_per_pixel=40, frame_period_s=0.5, kind="calcium", blur_um=60), seed=11),
        "64bb18498accf44537c9c9f17f03814a9f2edbb3b00ed99c3267464fd2c02b5f",
    ),
}


@pytest.mark.parametrize("case", sorted(STORES))
def test_store_movies_match_their_golden_digest(tmp_path, case):
    values, expected = STORES[case]
    run = ws.RunSpec(retina=values["retina"], readout=values["readout"],
                     timing=ws.Timing(duration_s=240.0, warmup_s=300.0), backend="cpu", batch_size=2)
    spec = DatasetSpec(params=values["params"], run=run, seed=values["seed"], n_movies=3)
    generate_store(tmp_path / "s.zarr", spec, progress=False)
    store = open_store(tmp_path / "s.zarr")
    movies = [store.read_movie(m) for m in range(spec.n_movies)]
    assert all(m.any() for m in movies)
    assert _digest(*movies) == expected


@pytest.mark.parametrize("kind", ["binary", "calcium"])
def test_batch_of_parameter_sets_matches_its_golden_digest(kind):
    params = [ws.preset("mouse"), ws.preset("turtle"), ws.AmacrineParams(P_s=20.0, spont_rate_hz=0.002)]
    readout = ws.Readout(um_per_pixel=40, frame_period_s=1.0, kind=kind, blur_um=60 if kind == "calcium" else 0)
    sim = ws.Simulation(params, [1, 2, 3], retina=ws.Retina(width_um=1500, height_um=1200, shape="disc"),
                        readout=readout, backend="cpu")
    sim.advance_s(300.0)
    frames = np.concatenate([c for _, c in sim.frames(240, 64)], axis=1)
    state = sim.state()
    assert all(f.any() for f in frames)
    expected = {
        "binary": ("dbd3c820ee0189be1a0843a5213b890468a0c9dc38539ca21762c9da661b8914",
                   "a7cab79995866cf27bc263ec719bf899069cd801c38e9f1819e68e52ec8bdc1b"),
        "calcium": ("2f8bc979e8cbcb5d324b6ae9f79692ffcb621b921cf404ce79e59fddd1b46b91",
                    "a7cab79995866cf27bc263ec719bf899069cd801c38e9f1819e68e52ec8bdc1b"),
    }[kind]
    assert (_digest(frames), _digest(*(state[k] for k in ("onset", "exc", "thresh", "decay")))) == expected


#: Directional waves on the paper's 64 x 64 grid, 60 frames of 27 retinas (seeds 542, 1733 and 2003 draw
#: directions rounded to -180 degrees in may2025, as 6.5% of may2025-undirectional's seeds do). The may2025
#: digests changed (issue 24) when the released script's kernel for theta' = -180 degrees replaced +180's in
#: those waves; teh2023 and continuous (wrapped angles) were the same before and after.
DIRECTIONAL = {
    "teh2023": "22df72fa1e18912fc5da674525ac4b1c9522ec4da29b28052345283defefcf59",
    "teh2023-undirectional": "dfb41a0c03eba17fb981096e5211e50f769dd79630de30aad951ee49147dbc41",
    "may2025": "d6a2a44832359f4a88e3d49ecb98f6d901e9dc43291365d2e3a0b0434e7d92b0",
    "may2025-undirectional": "38dd8d0221b9c27a4a2e4cd32cece3b43aaa2253bbdebccf2324710319f0fc71",
    "continuous": "9de087d99b1e6d5acda34e142ebc197dc0977ffb311d0c1ee17afe8186289933",
}


@pytest.mark.parametrize("preset", sorted(DIRECTIONAL))
def test_directional_presets_match_their_golden_digest(preset):
    sim = ws.Simulation(ws.get_model("directional").preset(preset), list(range(24)) + [542, 1733, 2003],
                        retina=ws.Retina(width_um=3200, height_um=3200, spacing_um=50),
                        readout=ws.Readout(um_per_pixel=50, frame_period_s=0.5), backend="cpu-events")
    frames = np.concatenate([c for _, c in sim.frames(60, 60)], axis=1)
    assert frames.any() and _digest(frames) == DIRECTIONAL[preset]
