#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: every GPU test (the GPU tests and the backend conformance suite), then every GPU benchmark (simulation, then
# clips into training from a store and live), ending with one table of both.
# Run from the repository root. On the lent device machine, first put the wheels of
# ../shared/device-wheels in .whl/ (see DEVELOPERS.md); this script installs them if present.
set -euo pipefail
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
SITE=/tmp/wavesim-site
if compgen -G ".whl/*.whl" > /dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --upgrade --target "$SITE" .whl/*.whl
fi
$PY -m pip install -q --no-index --no-deps --no-build-isolation --upgrade --target "$SITE" .
export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
cd /tmp  # import the installed package, not the source tree
REPO=$OLDPWD
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
echo "== GPU tests"
$PY -m pytest "$REPO/tests/test_gpu.py" "$REPO/tests/test_conformance.py" "$REPO/tests/test_model_directional.py" \
  -q -p no:cacheprovider -rs
echo "== GPU benchmarks"
$PY "$REPO/benchmarks/bench_simulate.py" --backends cuda --json /tmp/wavesim-simulate.json ${BENCH_ARGS:-}
$PY "$REPO/benchmarks/bench_data.py" --backends cuda --json /tmp/wavesim-data.json
$PY "$REPO/benchmarks/bench_directional.py" --quick  # its own table: directional waves/s, cuda against the CPU engines
echo "== Summary"
$PY "$REPO/benchmarks/gpu_summary.py" /tmp/wavesim-simulate.json /tmp/wavesim-data.json
