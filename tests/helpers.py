"""Shared test helpers (importable as ``helpers`` since pytest puts tests/ on sys.path)."""

import wavesim as ws


def fast_params(**overrides):
    """Parameters under which a tiny lattice shows activity within a few hundred steps."""
    values = dict(P_s=3.0, spont_rate_hz=0.02)
    values.update(overrides)
    return ws.AmacrineParams(**values)
