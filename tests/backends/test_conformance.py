"""Backend conformance: :class:`wavesim.testing.ConformanceSuite` for every registered model on every engine.

Run here for ``cpu`` and ``cpu-events``, and for ``cuda`` where a real GPU is usable (skipped
otherwise). ``tests/kernels/test_cuda_kernels.py`` runs this module again in a
process with Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, blocks
shrunk to 8 x 1 threads so that tiny lattices span several blocks), where
``cuda`` is usable and ``WAVESIM_CONFORMANCE_BACKENDS=cuda`` skips the rest.
"""

import wavesim as ws
from wavesim.testing import ConformanceSuite


class TestAmacrineConformance(ConformanceSuite):
    model = "amacrine"

    @staticmethod
    def active_params():
        return [ws.AmacrineParams(P_s=3.0, D_s=0.2, spont_rate_hz=0.5),
                ws.AmacrineParams(P_s=5.0, H2=0.3, D_s=0.15, tau_K_s=0.05, spont_rate_hz=0.8)]


class TestDirectionalConformance(ConformanceSuite):
    model = "directional"

    @staticmethod
    def active_params():
        # Steps of 0.025 s as the amacrine model's, short refractoriness so that cells fire again within the test:
        # one wave from step 0 (with the released script's quirks) and a continuous Poisson-started sheet.
        return [
            ws.DirectionalParams(dt_s=0.025, q=5.0, t_wave_s=0.025, tau_off_s=0.05, tau_iei_s=0.1, angles="unwrapped",
                                 inhibition_rounding="truncate", initiation_margin_cells=1),
            ws.DirectionalParams(dt_s=0.025, q=3.0, t_wave_s=0.05, tau_on_s=0.025, tau_off_s=0.1, tau_iei_s=0.05,
                                 directionality="undirectional", mode="continuous", start_rate_hz=1.0),
        ]


def test_every_registered_model_has_a_conformance_suite():
    suites = {cls.model for cls in ConformanceSuite.__subclasses__()}
    assert set(ws.list_models()) <= suites, "add a ConformanceSuite subclass for every registered model"
