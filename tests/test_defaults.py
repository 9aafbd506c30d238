"""Every public entry point with its defaults, as a new user meets it on this machine.

Driven by the public API, not by a list kept by hand: every class named in
``wavesim.__all__`` or a subpackage's ``__all__`` is made with only its
required arguments, and every subcommand of the ``wavesim`` command line
runs with only its required arguments, for every model on every backend
available here (``cuda`` where a GPU is usable). A new public class without
required arguments is covered as it is; one with required arguments, or a
new command, fails here until it gets its row below.

Defaults too slow for CI run at a smaller size, each with its reason in
``SMALLER``; nothing else is passed beyond what is required.
"""

import dataclasses
import importlib
import inspect
import pkgutil
import shutil
from pathlib import Path

import numpy as np
import pytest

import wavesim as ws
import wavesim.analysis
import wavesim.fit
import wavesim.io
import wavesim.train
from wavesim.backends import cuda_status, engines_for, resolve_backend
from wavesim.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
RECORDING = ROOT / "datasets" / "recordings" / "Kirkby2013_02_WT_P5.h5"
RECORDING_B = ROOT / "datasets" / "recordings" / "Kirkby2013_02_B2KO_P5.h5"


def public_modules():
    """``wavesim`` and each of its subpackages (at any depth) that declares ``__all__``."""
    found = [ws]
    for info in pkgutil.walk_packages(ws.__path__, "wavesim."):
        if info.ispkg:
            module = importlib.import_module(info.name)
            if hasattr(module, "__all__"):
                found.append(module)
    return found


def public_classes() -> dict[str, type]:
    """``{public name: class}``, each class once, under the first (shortest) name that exports it."""
    classes: dict[type, str] = {}
    for module in public_modules():
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) and obj not in classes:
                classes[obj] = f"{module.__name__}.{name}"
    return {name: cls for cls, name in classes.items()}


def required_parameters(cls) -> set[str]:
    return {p.name for p in inspect.signature(cls).parameters.values()
            if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


class Context:
    """What the rows below make their arguments from, made once per module and only when first asked for."""

    def __init__(self, root: Path, wave_store: Path):
        self.root = root
        #: A store with waves to pair: the default store's 4 minutes hold none that the default analysis detects.
        self.wave_store = wave_store
        self._made = {}

    def once(self, key, make):
        if key not in self._made:
            self._made[key] = make()
        return self._made[key]

    @property
    def store(self) -> Path:
        """The store ``wavesim generate STORE`` writes with its defaults."""
        def make():
            assert main([a.format(root=self.root) for a in COMMANDS["generate"]]) == 0
            return self.root / "waves.zarr"
        return self.once("store", make)

    @property
    def recording(self):
        return self.once("recording", lambda: ws.io.load_recording(RECORDING))

    @property
    def summary(self):
        from wavesim.analysis import summarize

        return self.once("summary", lambda: summarize(self.recording))

    @property
    def clips(self):
        from wavesim.data import WaveClips

        return self.once("clips", lambda: WaveClips(self.store))

    @property
    def movie_file(self) -> Path:
        """Movie 0 of the default store as a ``.npy`` file (a user's own movie)."""
        def make():
            path = self.root / "movie.npy"
            np.save(path, ws.io.open_store(self.store).read_movie(0))
            return path
        return self.once("movie_file", make)

    @property
    def objective(self):
        from wavesim.fit import Objective

        return self.once("objective", lambda: Objective(self.recording))


def _damaged_store(ctx):
    """A copy of the default store with one chunk file of movie 0 deleted."""
    copy = ctx.root / "damaged.zarr"
    shutil.copytree(ctx.store, copy)
    next(p for p in sorted((copy / "movies").rglob("*")) if p.is_file() and p.name != "zarr.json").unlink()
    return ws.io.open_store(copy).chunk_damage(0)[0]


def _sweep_design():
    from wavesim.sweep import SweepDesign

    return SweepDesign.grid(ws.preset(), {"P_s": [20.0, 40.0]})


def _sweep(ctx):
    from wavesim.sweep import run_sweep

    return run_sweep(_sweep_design(), ws.preset(), ctx.root / "sweep-python")


def _wave_frames():
    """Four waves of two 32 x 32 frames: the smallest set whose waves make one batch of whole waves."""
    import torch

    return ws.train.WaveFrames(torch.rand(8, 1, 32, 32), np.repeat(np.arange(4), 2), np.arange(8))


def _manifolds():
    from wavesim.train import manifold_geometry

    rng = np.random.default_rng(0)
    return manifold_geometry(rng.normal(size=(4, 10, 30)) + 3 * rng.normal(size=(4, 1, 30)))


#: Classes with required arguments. ("args", f): f(ctx) gives exactly the required arguments, by name.
#: ("made", f): instances come from a public function (a result type), and f(ctx) calls it with its defaults.
ROWS = {
    "wavesim.HexLattice": ("args", lambda ctx: {"retina": ws.Retina()}),
    "wavesim.SquareLattice": ("args", lambda ctx: {"retina": ws.Retina()}),
    "wavesim.Simulation": ("args", lambda ctx: {"params": ws.preset(), "seeds": [0]}),
    "wavesim.SimulationState": ("made", lambda ctx: ws.Simulation(ws.preset(), [0]).save_state()),
    "wavesim.analysis.BurstElectrodes": (
        "made", lambda ctx: ws.analysis.estimate_burst_electrodes(ctx.recording.spike_times_s)),
    "wavesim.analysis.Bursts": ("made", lambda ctx: ws.analysis.detect_spike_bursts(ctx.recording.spike_times_s)),
    "wavesim.analysis.CIProfile": ("made", lambda ctx: ctx.summary.ci_profile),
    "wavesim.analysis.Summary": ("made", lambda ctx: ctx.summary),
    "wavesim.analysis.Waves": ("made", lambda ctx: ws.analysis.detect_mea_waves(ctx.recording)),
    "wavesim.analysis.SharedSynchrony": ("made", lambda ctx: ws.analysis.estimate_shared_synchrony(
        ctx.recording.spike_times_s, ctx.recording.positions_um, ctx.recording.duration_s)),
    "wavesim.backends.Engine": ("made", lambda ctx: ws.Simulation(ws.preset(), [0]).engine),
    "wavesim.backends.EngineEntry": ("made", lambda ctx: ws.backends.engine_entries()[0]),
    "wavesim.data.BatchLoader": ("args", lambda ctx: {"dataset": ctx.clips}),
    "wavesim.data.EpochPlan": ("made", lambda ctx: ctx.clips.plan()),
    "wavesim.data.UserMovie": ("args", lambda ctx: {"movie": ctx.movie_file, "frame_rate_hz": 2.0,
                                                     "um_per_pixel": 50.0}),
    "wavesim.data.WaveClips": ("args", lambda ctx: {"stores": ctx.store}),
    "wavesim.data.WavePairs": ("args", lambda ctx: {"stores": ctx.wave_store}),
    "wavesim.fit.Evaluation": ("made", lambda ctx: ctx.objective.evaluate([ws.preset()])[0]),
    # out_dir (or storage) is required in effect: fit() refuses to run without a place for the study's journal.
    # One trial, not the default 50, as for the fit command below.
    "wavesim.fit.FitResult": ("made", lambda ctx: ws.fit.fit(ctx.recording, ctx.root / "fit-python", n_trials=1)),
    "wavesim.fit.FitStatistics": ("made", lambda ctx: ctx.objective.recorded),
    # One trial of one model, not the default 50 of every model (hours for the continuous models).
    "wavesim.fit.ModelComparison": ("made", lambda ctx: ws.fit.compare_models(ctx.recording, ctx.root / "models-python",
                                                                              models="amacrine", n_trials=1)),
    "wavesim.fit.ModelScore": ("made", lambda ctx: ws.fit.compare_models(ctx.recording, ctx.root / "models-python",
                                                                         models="amacrine", n_trials=1).scores[0]),
    "wavesim.fit.Rung": ("made", lambda ctx: ws.fit.search_plan(ctx.objective, ws.preset()).rungs[0]),
    "wavesim.fit.SearchPlan": ("made", lambda ctx: ws.fit.search_plan(ctx.objective, ws.preset())),
    "wavesim.fit.Objective": ("args", lambda ctx: {"recording": ctx.recording}),
    "wavesim.fit.PooledObjective": ("args", lambda ctx: {
        "recordings": [ctx.recording, ws.io.load_recording(RECORDING_B)]}),
    "wavesim.fit.VirtualArray": ("args", lambda ctx: {"positions_um": ctx.recording.positions_um,
                                                      "duration_s": ctx.recording.duration_s,
                                                      "simulation": ws.fit.SimulationSettings()}),
    "wavesim.io.ChunkDamage": ("made", _damaged_store),
    "wavesim.io.DatasetSpec": ("args", lambda ctx: {"params": ws.preset()}),
    "wavesim.io.MEARecording": ("args", lambda ctx: {"spike_times_s": ctx.recording.spike_times_s,
                                                     "positions_um": ctx.recording.positions_um,
                                                     "array_name": "MCS 8x8", "age": 5.0,
                                                     "duration_s": ctx.recording.duration_s}),
    "wavesim.io.Movie": ("args", lambda ctx: {"frames": np.load(ctx.movie_file), "um_per_pixel": 50.0,
                                              "frame_period_s": 0.5}),
    "wavesim.io.VerifyReport": ("made", lambda ctx: ws.io.verify_store(ctx.store)),
    "wavesim.io.WaveStore": ("args", lambda ctx: {"path": ctx.store}),
    "wavesim.models.WaveModel": ("made", lambda ctx: ws.get_model()),
    "wavesim.sweep.SweepDesign": ("made", lambda ctx: _sweep_design()),
    "wavesim.sweep.SweepResult": ("made", _sweep),
    "wavesim.train.ClipSet": ("args", lambda ctx: {"clips": np.zeros((2, 11, 16, 16), np.float32)}),
    "wavesim.train.ManifoldGeometry": ("made", lambda ctx: _manifolds()),
    "wavesim.train.TargetClips": ("args", lambda ctx: {
        "movies": ws.train.corridor_movie(24, size_px=16)[None]}),
    "wavesim.train.WaveFrames": ("args", lambda ctx: {"frames": _wave_frames().frames, "wave": _wave_frames().wave,
                                                       "time": _wave_frames().time}),
    "wavesim.train.WaveContrastiveTrainer": ("args", lambda ctx: {
        "net": ws.train.ContrastiveNet.from_config(ws.train.contrastive_config(
            "ligeralde2023", encoder_width=2, projector_dims=(8, 4))),
        "train": _wave_frames(), "validation": None, "settings": ws.train.WaveTrainingSettings()}),
    "wavesim.train.models.BasicBlock": ("args", lambda ctx: {"in_channels": 3, "out_channels": 4}),
    "wavesim.train.models.Bottleneck": ("args", lambda ctx: {"in_channels": 4, "width": 2}),
    "wavesim.train.models.ConvGRUCell": ("args", lambda ctx: {"in_channels": 1, "hidden_channels": 2}),
    "wavesim.train.models.ConvLSTMCell": ("args", lambda ctx: {"in_channels": 1, "hidden_channels": 2}),
    "wavesim.train.models.ConvPeepholeLSTMCell": ("args", lambda ctx: {"in_channels": 1, "hidden_channels": 2,
                                                                       "frame_shape": (8, 8)}),
    "wavesim.train.models.ConvRNNCell": ("args", lambda ctx: {"in_channels": 1, "hidden_channels": 2}),
}


@pytest.fixture(scope="module")
def ctx(tmp_path_factory, small_store):
    return Context(tmp_path_factory.mktemp("defaults"), small_store[0])


def test_every_row_names_a_public_class_with_required_arguments():
    classes = public_classes()
    assert set(ROWS) <= set(classes), f"rows for names that are not public classes: {set(ROWS) - set(classes)}"
    for name, (kind, _) in ROWS.items():
        assert kind in ("args", "made")
        assert required_parameters(classes[name]) or kind == "made", f"{name} needs no row: it has no required " \
                                                                      f"arguments"


@pytest.mark.parametrize("name", sorted(public_classes()))
def test_each_public_class_is_made_with_only_its_required_arguments(name, ctx):
    cls = public_classes()[name]
    if issubclass(cls, BaseException):
        error = cls("something went wrong")
        assert isinstance(error, ws.WavesimError) and str(error) == "something went wrong"
        return
    required = required_parameters(cls)
    if name not in ROWS:
        assert not required, (f"{name} has required arguments {sorted(required)}: add a row to ROWS in "
                              f"{Path(__file__).name} (its required arguments, or the public call that makes it)")
        obj = cls()
    else:
        kind, make = ROWS[name]
        if kind == "args":
            arguments = make(ctx)
            assert set(arguments) == required, f"give {name} exactly its required arguments {sorted(required)}"
            obj = cls(**arguments)
        else:
            obj = make(ctx)
    assert isinstance(obj, cls)


def available_backends(model) -> list[str]:
    """The backends a user can name for ``model`` here: auto, the CPU engines, and cuda where a GPU is usable."""
    return ["auto"] + [name for name in engines_for(model) if name != "cuda" or cuda_status()[0]]


MODEL_BACKENDS = [(m, b) for m in ws.list_models() for b in available_backends(ws.get_model(m))]
#: The continuous models' own runs (the authors' 64 x 64 sheets, 300 s and 30 s warm-ups at 1 ms and 0.1 ms steps)
#: take minutes on a CPU: streamed and generated here on 16 x 16 cells, 0.1 s of warm-up, two retinas.
SLOW_RUNS = {
    name: dict(width_um=16.5 * ws.get_model(name).run.retina.spacing_um, warmup_s=0.1, duration_s=0.5, n_retinas=2)
    for name in ("lansdell2014", "retinalchaos")
}


@pytest.mark.parametrize("model, backend", MODEL_BACKENDS)
def test_a_simulation_of_each_model_runs_on_each_backend_with_its_defaults(model, backend):
    sim = ws.Simulation(ws.get_model(model).preset(), seeds=[0], backend=backend)
    usable = cuda_status()[0]
    assert sim.backend == (backend if backend != "auto" else
                           "cuda" if usable else resolve_backend("auto", ws.get_model(model)))
    sim.advance(1)
    frame = sim.to_host(sim.frame())
    assert frame.shape[-2:] == sim.frame_shape


def test_live_waves_runs_with_no_arguments_at_all():
    from wavesim.data import LiveWaves

    batch = next(iter(LiveWaves()))
    assert batch["clips"].shape == (16 if not cuda_status()[0] else 4096, 11, 64, 64)


@pytest.mark.parametrize("model, backend", MODEL_BACKENDS)
def test_live_waves_streams_each_model_on_each_backend(model, backend):
    from wavesim.data import LiveWaves
    from wavesim.errors import ParameterError

    wave_model = ws.get_model(model)
    params = wave_model.preset()
    if wave_model.single_wave is not None and wave_model.single_wave(params):
        # One wave per movie cannot run on and on: refused with the preset that can.
        with pytest.raises(ParameterError, match="use mode='continuous'"):
            LiveWaves(params, backend=backend)
        params = next(p for p in map(wave_model.preset, wave_model.presets) if not wave_model.single_wave(p))
    smaller = {}
    if model in SLOW_RUNS:
        run = SLOW_RUNS[model]
        retina = dataclasses.replace(wave_model.run.retina, width_um=run["width_um"], height_um=run["width_um"])
        smaller = dict(retina=retina, warmup_s=run["warmup_s"], n_retinas=run["n_retinas"])
    live = LiveWaves(params, backend=backend, **smaller)
    batch = next(iter(live))
    assert batch["clips"].shape[0] == live.n_retinas and batch["clips"].dtype.is_floating_point


#: Per command: its required arguments (placeholders filled from the context) and, where the defaults are too
#: slow for CI, the options that make it smaller, with the reason. Nothing else is given.
COMMANDS = {
    "generate": ["generate", "{root}/waves.zarr"],
    "info": ["info", "{store}"],
    "verify": ["verify", "{store}"],
    "presets": ["presets"],
    "render": ["render", "{store}"],
    "stats": ["stats", "{store}"],
    "compare": ["compare", "{recording}", "{recording_b}"],
    "fit": ["fit", "{recording}", "--out", "{root}/fit"],
    "compare-models": ["compare-models", "{recording}", "--out", "{root}/models"],
    "sweep": ["sweep", "--out", "{root}/sweep", "--grid", "P_s=20,40"],
    "pretrain": ["pretrain", "--out", "{root}/nf.pt"],
    "evaluate": ["evaluate", "{root}/nf.pt", "--out", "{root}/eval"],
    "reproduce": ["reproduce", "may2025", "--out", "{root}/may2025"],
}
#: Required in effect though argparse cannot say so: one of several options must be given.
ONE_OF = {"sweep": {"--grid", "--random"}}
SMALLER = {
    "fit": (["--trials", "1"], "the default 50 trials of 2 retinas after 900 s warm-ups take minutes"),
    "compare-models": (["--trials", "1", "--retinas", "1", "--warmup-s", "2", "--duration-s", "10", "--margin-um",
                        "0"], "the continuous models' 900 s warm-ups at 1 ms and 0.1 ms steps take hours on a CPU"),
    "pretrain": (["--training-clips", "16", "--validation-clips", "16", "--max-epochs", "1", "--size-px", "16",
                  "--hidden-channels", "4"],
                 "May et al.'s protocol (2,048 clips of 64 x 64, 64 channels, up to 200 epochs) takes hours on a "
                 "CPU"),
    "evaluate": (["--movies", "2", "--frames", "12", "--size-px", "16"],
                 "training on 20 corridor movies of 60 frames of 64 x 64 takes minutes on a CPU"),
    "reproduce": ([a for item in ["size_px=8", "hidden_channels=2", "wave_training_clips=4",
                                  "wave_validation_clips=4", "fold_clips=10", "test_clips=2", "clips_per_segment=1",
                                  "repetitions=1", "pretrain_max_epochs=4", "target_max_epochs=5", "rf_trials=1",
                                  "rf_steps=2"] for a in ("--set", item)],
                  "the cpu size runs May et al.'s comparison for about 50 minutes on two cores"),
}


def _subcommands(parser) -> dict:
    sub = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return sub[0].choices if sub else {}


def _command_parsers():
    return _subcommands(build_parser())


def _parser_of(parsers, argv):
    """The parser of ``argv``'s command, or of its subcommand (``reproduce may2025``)."""
    return _subcommands(parsers[argv[0]]).get(argv[1] if len(argv) > 1 else None, parsers[argv[0]])


def test_every_command_has_a_row_and_its_row_gives_only_required_arguments():
    parsers = _command_parsers()
    assert set(COMMANDS) == set(parsers), f"commands without a row: {set(parsers) - set(COMMANDS)}"
    for command, argv in COMMANDS.items():
        options = {s: a for a in _parser_of(parsers, argv)._actions for s in a.option_strings}
        required = {a.option_strings[0] for a in options.values() if a.required}
        given = {token for token in argv[1:] if token.startswith("--")}
        assert required <= given, f"{command}: give its required options {required - given}"
        extra = given - required - ONE_OF.get(command, set())
        assert not extra, f"{command}: {extra} are not required; smaller sizes go in SMALLER with their reason"
        for token in SMALLER.get(command, ([], ""))[0]:
            assert not token.startswith("--") or token in options, f"{command} has no option {token}"


def _run(argv, ctx, monkeypatch):
    monkeypatch.chdir(ctx.root)
    values = {"root": ctx.root, "recording": RECORDING, "recording_b": RECORDING_B}
    if "{store}" in " ".join(argv):
        values["store"] = ctx.store
    return main([a.format(**values) for a in argv])


@pytest.mark.parametrize("command", list(COMMANDS))
def test_each_command_runs_with_only_its_required_arguments(command, ctx, monkeypatch, capsys):
    if command == "generate":
        assert ws.io.open_store(ctx.store).complete_movies() == [0, 1, 2, 3]  # the context ran it
        return
    argv = COMMANDS[command] + SMALLER.get(command, ([], ""))[0]
    if command == "evaluate" and not (ctx.root / "nf.pt").exists():
        assert _run(COMMANDS["pretrain"] + SMALLER["pretrain"][0], ctx, monkeypatch) == 0
    assert _run(argv, ctx, monkeypatch) == 0, capsys.readouterr().err[-2000:]


@pytest.mark.parametrize("model, backend", [(m, b) for m, b in MODEL_BACKENDS if b != "auto"])
def test_generate_writes_each_model_on_each_backend_with_its_defaults(model, backend, ctx, monkeypatch):
    argv = ["generate", f"{{root}}/{model}-{backend}.zarr", "--backend", backend]
    if model != ws.get_model().name:
        argv += ["--model", model]
    if model in SLOW_RUNS:
        run = SLOW_RUNS[model]
        argv += ["--width-um", str(run["width_um"]), "--warmup-s", str(run["warmup_s"]), "--duration-s",
                 str(run["duration_s"])]
    assert _run(argv, ctx, monkeypatch) == 0
    store = ws.io.open_store(ctx.root / f"{model}-{backend}.zarr")
    assert store.complete_movies() == [0, 1, 2, 3] and store.attrs["model"] == model
