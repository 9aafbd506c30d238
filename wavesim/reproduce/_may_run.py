"""May et al. (2025): the comparison as a list of jobs, run in order, checkpointed, resumable exactly.

Per replicate ``r`` (validating on fold ``r mod n_folds``): pre-training on
each wave set to early stopping (:data:`~._may_config.WAVE_SETS`; the
directional run also keeps its weights after 1, 2 and 4 epochs), then target
training for every condition (:data:`~._may_config.CONDITIONS`), then the
receptive fields and grating responses of the networks of Figs 5 and 6.

``OUT/run.json`` holds the configuration, the target and the digests of the
data; ``OUT/jobs/JOB.pt`` the result of each finished job; ``OUT/current.pt``
the state of the training run in progress (:class:`~wavesim.train.resumable.EarlyStoppingFit`)
when a wall budget stopped it. Weights a later job needs stay in the
replicate's job files until the replicate's last job is done.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from ..errors import ParameterError
from ..train.folds import FoldedClips
from ..train.resumable import EarlyStoppingFit, per_clip_losses
from ._may_config import CONDITIONS, WAVE_SETS, MayConfig, condition, matched_target_epoch
from ._may_data import DataCache, corridor_clips, derived_seed, movie_clips, wave_set

#: Networks whose receptive fields and grating responses are measured (the paper's Figs 5, 6 and S3): name ->
#: where their weights come from.
ANALYSED = {
    "random_init": "fresh weights",
    "directed_prop": "best directional pre-training",
    "not_directed_prop_amacrine": "best amacrine pre-training",
    "not_directed_prop_undirectional": "best undirectional pre-training",
    "directed_prop_shuffled": "best directional pre-training, shuffled",
    "directed_prop_1_epoch": "one epoch of directional pre-training",
    "fully_trained": "NotPretrained after target training (best epoch)",
}

#: Wave epochs after which directional pre-training keeps its weights (the time-matched variants).
SNAPSHOT_EPOCHS = (1, 2, 4)


def job_names(config: MayConfig, analysed=ANALYSED) -> list[str]:
    """Every job of a run, in the order they run (``analysed``: the networks analysed per replicate)."""
    jobs = []
    for r in range(config.repetitions):
        jobs += [f"pretrain-{w}-{r}" for w in WAVE_SETS]
        jobs += [f"target-{c.name}-{r}" for c in CONDITIONS]
        jobs += [f"analysis-{n}-{r}" for n in analysed]
    return jobs


class Paused(Exception):
    """The wall budget ran out; the run is saved at a clean point."""


class MayRun:
    """One run of the comparison in folder ``out`` (module docstring).

    Parameters
    ----------
    config : MayConfig
    out : Path
    target : dict
        ``{"kind": "corridor"}``, or ``{"kind": "movies", "paths": [...], "frame_rate_hz": ...,
        "train_frame_rate_hz": ...}``.
    device : torch.device
    data_folder : Path, optional
        Where the data sets are cached (default ``OUT/data``).
    log : callable
        Prints progress lines.

    Attributes
    ----------
    analysed : dict
        The networks whose receptive fields and gratings are measured (default :data:`ANALYSED`).
    """

    analysed = ANALYSED

    def __init__(self, config: MayConfig, out: Path, target: dict, device: torch.device, *,
                 data_folder: Path | None = None, backend: str = "auto", log=print):
        self.config, self.out, self.target, self.device = config, Path(out), dict(target), device
        self.backend, self.log = backend, log
        self.data_folder = Path(data_folder) if data_folder is not None else self.out / "data"
        self.deadline = None
        self._data = {}

    # ------------------------------------------------------------------ the run's record

    def describe(self) -> dict:
        from .. import __version__

        return {"paper": "may2025", "config": self.config.to_dict(), "target": self.target,
                "wavesim_version": __version__}

    def start(self, resume: bool) -> None:
        """Write ``run.json`` for a new run, or check that it describes this one when resuming.

        Raises
        ------
        wavesim.errors.ParameterError
            Without ``resume`` in a folder that holds a run; with ``resume``
            when the folder's run has other settings.
        """
        record = self.out / "run.json"
        if record.is_file():
            if not resume:
                raise ParameterError(f"{self.out} holds a run already; add --resume to carry it on, or give "
                                     f"another --out (nothing was changed).")
            saved = json.loads(record.read_text())
            mine = self.describe()
            for key in ("config", "target"):
                if saved.get(key) != mine[key]:
                    raise ParameterError(f"{self.out} holds a run with another {key} ({saved.get(key)}); resume "
                                         f"it with the options it was started with, or give another --out.")
            self.digests = saved.get("data_digests", {})
        else:
            self.out.mkdir(parents=True, exist_ok=True)
            self.digests = {}
        self._save_record()

    def _save_record(self) -> None:
        record = dict(self.describe(), data_digests=self.digests)
        _write_atomic(self.out / "run.json", json.dumps(record, indent=1).encode())

    # ------------------------------------------------------------------ data

    def _cache(self) -> DataCache:
        return DataCache(self.data_folder, self.digests)

    def waves(self, name: str) -> dict:
        if name not in self._data:
            def build():
                clips, train_ids, val_ids = wave_set(self.config, name, backend=self.backend)
                return {"clips": clips, "train_ids": torch.as_tensor(train_ids),
                        "validation_ids": torch.as_tensor(val_ids)}

            self.log(f"wave set {name}...")
            self._data[name] = self._cache().get(f"waves-{name}", build)
            self._save_record()
        return self._data[name]

    def folds(self) -> FoldedClips:
        if "target" not in self._data:
            def build():
                if self.target["kind"] == "corridor":
                    folded = corridor_clips(self.config)
                else:
                    folded = movie_clips(self.config, self.target["paths"],
                                         frame_rate_hz=self.target.get("frame_rate_hz"),
                                         train_frame_rate_hz=self.target.get("train_frame_rate_hz"))
                return {"clips": folded.clips, "segments": torch.as_tensor(np.repeat(
                    np.arange(len(folded.clips) // self.config.clips_per_segment), self.config.clips_per_segment))}

            self.log("target clips...")
            data = self._cache().get("target", build)
            self._save_record()
            c = self.config
            self._data["target"] = FoldedClips(data["clips"], data["segments"].numpy(), n_folds=c.n_folds,
                                               fold_clips=c.fold_clips, test_clips=c.test_clips,
                                               seed=derived_seed(c.seed, "split"))
        return self._data["target"]

    # ------------------------------------------------------------------ jobs

    def jobs(self) -> list[str]:
        """Every job of this run, in order."""
        return job_names(self.config, self.analysed)

    def job_path(self, job: str) -> Path:
        return self.out / "jobs" / f"{job}.pt"

    def load_job(self, job: str) -> dict:
        return torch.load(self.job_path(job), map_location="cpu", weights_only=True)

    def run(self, max_minutes: float | None = None) -> bool:
        """Run the jobs not yet done; True when all are done, False when the wall budget stopped the run."""
        self.deadline = None if max_minutes is None else time.monotonic() + 60.0 * max_minutes
        try:
            for job in self.jobs():
                if self.job_path(job).is_file():
                    continue
                if self.deadline is not None and time.monotonic() >= self.deadline:
                    raise Paused
                self.log(f"{job}...")
                kind, rest = job.split("-", 1)
                name, r = rest.rsplit("-", 1)
                runner = {"pretrain": self._pretrain, "target": self._target, "analysis": self._analysis}[kind]
                result = runner(name, int(r))
                self.job_path(job).parent.mkdir(parents=True, exist_ok=True)
                _save_atomic(result, self.job_path(job))
                (self.out / "current.pt").unlink(missing_ok=True)
                if kind == "analysis" and name == list(self.analysed)[-1]:
                    self._drop_weights(int(r))
        except Paused:
            return False
        return True

    def _drop_weights(self, r: int) -> None:
        """Remove the weights of replicate ``r``'s jobs once its last job is done (the results stay)."""
        for job in self.jobs():
            if job.endswith(f"-{r}") and self.job_path(job).is_file():
                data = self.load_job(job)
                if data.pop("weights", None) is not None:
                    _save_atomic(data, self.job_path(job))

    def fresh_model(self, r: int):
        from ..train.models import RecurrentPredictor

        generator = torch.Generator().manual_seed(derived_seed(self.config.seed, "init", r))
        return RecurrentPredictor(cell=self.config.cell, hidden_channels=self.config.hidden_channels,
                                  frame_shape=(self.config.size_px, self.config.size_px), generator=generator)

    def _fit(self, job: str, model, clips, train_ids, val_ids, *, seed: int, max_epochs: int,
             snapshots) -> EarlyStoppingFit:
        c = self.config
        fit = EarlyStoppingFit(model, clips.to(self.device), train_ids, val_ids, seed=seed, max_epochs=max_epochs,
                               patience=c.patience_epochs, batch_size=c.batch_size, learning_rate=c.learning_rate,
                               snapshot_epochs=snapshots)
        current = self.out / "current.pt"
        if current.is_file():
            saved = torch.load(current, map_location=self.device, weights_only=True)
            if saved["job"] == job:
                fit.load_state_dict(saved["fit"])
                self.log(f"  resumed at epoch {len(fit.progress['validation_error'])}, batch {fit.progress['batch']}")
        if not fit.run(self.deadline):
            _save_atomic({"job": job, "fit": fit.state_dict()}, current)
            raise Paused
        return fit

    def _pretrain(self, name: str, r: int) -> dict:
        data = self.waves(name)
        model = self.fresh_model(r).to(self.device)
        fit = self._fit(f"pretrain-{name}-{r}", model, data["clips"], data["train_ids"].numpy(),
                        data["validation_ids"].numpy(), seed=derived_seed(self.config.seed, "pretrain", name, r),
                        max_epochs=self.config.pretrain_max_epochs,
                        snapshots=SNAPSHOT_EPOCHS if name == "directional" else ())
        result = fit.result()
        result.pop("validation_losses_by_epoch")
        weights = {"best": fit.best_weights(), **{f"epoch_{e}": w for e, w in fit.snapshots.items()}}
        self.log(f"  best epoch {result['best_epoch']} of {len(result['validation_error_by_epoch']) - 1}, "
                 f"validation error {result['best_validation_error']:.4g}")
        return {"result": result, "weights": _cpu(weights)}

    def start_model(self, name: str, r: int):
        """The network a condition (or an analysed network) starts from, for replicate ``r``."""
        from ..train.models import shuffle_weights

        model = self.fresh_model(r)
        if name in ("random_init", "not_pretrained"):
            return model
        if name == "fully_trained":
            model.load_state_dict(self.load_job(f"target-not_pretrained-{r}")["weights"]["best"])
            return model
        c = condition(name)
        weights = self.load_job(f"pretrain-{c.waves}-{r}")["weights"]
        start = "best" if c.start in ("best", "shuffled") else f"epoch_{c.pretrain_epochs}"
        model.load_state_dict(weights[start])
        if c.start == "shuffled":
            model = shuffle_weights(model, derived_seed(self.config.seed, "shuffle", r), scope="filters")
        return model

    def _target(self, name: str, r: int) -> dict:
        folded = self.folds()
        train_ids, val_ids = folded.fold(r % folded.n_folds)
        c = condition(name)
        matched = matched_target_epoch(c)
        model = self.start_model(name, r).to(self.device)
        fit = self._fit(f"target-{name}-{r}", model, folded.clips, train_ids, val_ids,
                        seed=derived_seed(self.config.seed, "target", r), max_epochs=self.config.target_max_epochs,
                        snapshots=(1, matched))
        result = fit.result()
        result.update(validation_ids=val_ids.tolist(), fold=r % folded.n_folds)
        test = {}
        if len(folded.test_ids):
            test_clips = folded.clips[folded.test_ids]
            for label, state in (("epoch_1", fit.snapshots.get(1)), (f"epoch_{matched}", fit.snapshots.get(matched)),
                                 ("best", fit.best_weights())):
                if state is not None:
                    model.load_state_dict(state)
                    test[label] = per_clip_losses(model, test_clips).astype(np.float32).tolist()
        result.update(test_losses=test, test_ids=folded.test_ids.tolist())
        errors = result["validation_error_by_epoch"]
        self.log(f"  validation error {errors[0]:.4g} -> {errors[1]:.4g} after one epoch, best "
                 f"{result['best_validation_error']:.4g} at epoch {result['best_epoch']}")
        out = {"result": result}
        if name == "not_pretrained":
            out["weights"] = _cpu({"best": fit.best_weights()})
        return out

    def _analysis(self, name: str, r: int) -> dict:
        from ..train.evaluate import grating_responses, receptive_field

        c, size = self.config, self.config.size_px
        model = self.start_model(name, r).to(self.device)
        rf = receptive_field(model.logits, unit=(size // 2, 3 * size // 4), n_frames=CLIP_INPUTS,
                             frame_shape=(size, size), n_trials=c.rf_trials, steps=c.rf_steps,
                             radius_px=max(1, round(13 * size / 64)), seed=derived_seed(c.seed, "rf", r),
                             batch_norm=c.batch_norm)
        gratings = grating_responses(model.layer_responses, n_frames=CLIP_INPUTS, frame_shape=(size, size),
                                     batch_norm=c.batch_norm)
        layers = {layer: {"pooled_std": v["pooled_std"], "mean_std": v["mean_std"]}
                  for layer, v in gratings["layers"].items()}
        return {"result": {"field": torch.from_numpy(rf["field"]), "area_px": rf["area_px"].tolist(),
                           "strength": [float(v) for v in rf["strength"]], "gratings": layers}}


#: Input frames of a clip (the paper's receptive fields and gratings are 10-frame clips).
CLIP_INPUTS = 10


def _cpu(weights: dict) -> dict:
    return {k: {n: t.detach().cpu() for n, t in v.items()} for k, v in weights.items()}


def _write_atomic(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)


def _save_atomic(obj, path: Path) -> None:
    partial = path.with_name(path.name + ".partial")
    torch.save(obj, partial)
    partial.replace(path)
