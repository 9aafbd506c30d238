"""A cache of warmed-up retinas, so that a warm-up is paid for once.

A retina's state after its warm-up is a pure function of the model (and its
rule's source), parameters, retina, seed, time step, warm-up length and
calcium filter, so it is stored once, one file per retina, keyed by a digest
of all of these, and any later run of the same retina (another ``wavesim
generate``, a ``--resume``, a fit candidate sharing the warm-up, a
``LiveWaves`` start) restores it instead of simulating it again. The backend
is not part of the key: states are the same bits on every backend. A restored
state continues exactly as the warm-up would have, so the cache never changes
a result; a damaged or foreign file is ignored and rewritten.

The cache lives in ``$WAVESIM_CACHE/warm`` (default
``$XDG_CACHE_HOME/wavesim/warm``, i.e. ``~/.cache/wavesim/warm``);
``WAVESIM_NO_WARM_CACHE=1`` (or ``--no-warm-cache``) turns it off. It holds
at most ``WAVESIM_WARM_CACHE_GB`` GiB (default 2): past that, the files used
least recently are deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import ParameterError

__all__ = ["WarmCache", "default_warm_cache", "warm_up"]


def default_warm_cache(enabled: bool = True) -> "WarmCache | None":
    """The user's warm-state cache, or None where ``enabled`` is false or ``WAVESIM_NO_WARM_CACHE`` is set."""
    if not enabled or os.environ.get("WAVESIM_NO_WARM_CACHE", "").strip() not in ("", "0"):
        return None
    limit = os.environ.get("WAVESIM_WARM_CACHE_GB", "").strip()
    try:
        max_bytes = int(float(limit) * 2**30) if limit else DEFAULT_MAX_BYTES
    except ValueError:
        raise ParameterError(f"WAVESIM_WARM_CACHE_GB must be a number of GiB, got {limit!r}.") from None
    root = os.environ.get("WAVESIM_CACHE")
    if root:
        return WarmCache(Path(root) / "warm", max_bytes)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return WarmCache(Path(xdg) / "wavesim" / "warm", max_bytes)


DEFAULT_MAX_BYTES = 2 * 2**30


class WarmCache:
    """Warmed-up retina states in the folder ``root``, one ``.npz`` file per retina (see the module docstring)."""

    def __init__(self, root, max_bytes: int = DEFAULT_MAX_BYTES):
        if max_bytes < 0:
            raise ParameterError(f"a warm-state cache holds at least 0 bytes, got max_bytes={max_bytes}.")
        self.root = Path(root)
        self.max_bytes = int(max_bytes)

    def key(self, sim, index: int, warmup_steps: int) -> str:
        """The digest naming retina ``index`` of ``sim`` after ``warmup_steps`` steps."""
        identity = {
            "model": sim.model.name,
            "rule": sim.model.rule_key,
            "params": sim.model.quantise([sim.params[index]]).tolist(),
            "retina": sim.retina.to_dict(),
            "seed": sim.seeds[index],
            "dt_s": sim.dt_s,
            "warmup_steps": int(warmup_steps),
            "calcium_alpha_q30": sim.calcium_alpha_q30,
        }
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def get(self, sim, index: int, warmup_steps: int):
        """The cached state of retina ``index`` of ``sim`` after its warm-up, or None."""
        from .simulate import SimulationState

        path = self.path(self.key(sim, index, warmup_steps))
        if not path.exists():
            return None
        try:
            state = SimulationState.load(path)
        except ParameterError:
            return None
        # A file is trusted only for the retina it names (a digest collision or a copied file is a miss).
        if (state.step != warmup_steps or state.seeds != (sim.seeds[index],) or state.model != sim.model.name
                or state.retina != sim.retina
                or not np.array_equal(sim.model.quantise(list(state.params)), sim.model.quantise([sim.params[index]]))):
            return None
        try:
            os.utime(path)  # marks it used, for the eviction order
        except OSError:
            pass
        return state

    def put(self, sim, index: int, warmup_steps: int, state) -> None:
        """Store ``state`` (one retina) as retina ``index`` of ``sim`` after ``warmup_steps`` steps."""
        path = self.path(self.key(sim, index, warmup_steps))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            state.save(path)
        except OSError as exc:  # a full disk or a read-only cache costs the next run time, never this run
            warnings.warn(f"warm-state cache: could not store {path}: {exc}", RuntimeWarning, stacklevel=3)
            return
        self.evict()

    def evict(self) -> int:
        """Delete the least recently used files until the cache holds at most ``max_bytes``; returns how many went."""
        files = []
        for f in self.root.glob("*/*.npz"):
            try:
                st = f.stat()
            except OSError:  # removed by another process meanwhile
                continue
            files.append((st.st_mtime, st.st_size, f))
        total = sum(size for _, size, _ in files)
        removed = 0
        for _, size, f in sorted(files):
            if total <= self.max_bytes:
                break
            f.unlink(missing_ok=True)
            total -= size
            removed += 1
        return removed


def warm_up(sim, warmup_steps: int, cache: WarmCache | None,
            advance: Callable[[object, int], None] | None = None) -> int:
    """Bring every retina of ``sim`` (at step 0) to the end of its warm-up of ``warmup_steps`` steps.

    Retinas found in ``cache`` are restored; the others are simulated (with
    ``advance(sim, n_steps)``, default ``sim.advance``) and stored. The
    result is the same bits with or without a cache.

    Returns
    -------
    int
        The number of retinas restored from the cache.
    """
    from .simulate import Simulation, SimulationState

    if sim.step != 0:
        raise ParameterError(f"warm_up starts a simulation at step 0; this one is at step {sim.step}.")
    advance = advance or (lambda s, n: s.advance(n))
    if cache is None or warmup_steps <= 0:
        advance(sim, warmup_steps)
        return 0
    found = [cache.get(sim, b, warmup_steps) for b in range(sim.batch_size)]
    missing = [b for b, s in enumerate(found) if s is None]
    if len(missing) == sim.batch_size:
        advance(sim, warmup_steps)
        state = sim.save_state()
        for b in range(sim.batch_size):
            cache.put(sim, b, warmup_steps, state.select([b]))
        return 0
    if missing:
        # Retinas are independent: the missing ones warm up as a batch of their own.
        part = Simulation([sim.params[b] for b in missing], [sim.seeds[b] for b in missing], retina=sim.retina,
                          readout=sim.readout, backend=sim.backend)
        advance(part, warmup_steps)
        state = part.save_state()
        for j, b in enumerate(missing):
            found[b] = state.select([j])
            cache.put(sim, b, warmup_steps, found[b])
    whole = SimulationState.concat(found)
    sim.restore(whole)
    return sim.batch_size - len(missing)
