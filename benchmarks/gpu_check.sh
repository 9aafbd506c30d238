#!/usr/bin/env bash
# The owed GPU runs (issue 30) in priority order, resumable. Each step appends its output to
# $RESULTS as soon as it ends; a step recorded there as complete for this commit is skipped, so a run
# cut short by the device budget keeps what it measured and the next run carries on.
#
#   benchmarks/gpu_check.sh            on a machine with an NVIDIA GPU (the caps add up to 9.3 minutes)
#   benchmarks/gpu_check.sh --dry-run  on a CPU: each step's set-up (imports, option values), nothing
#                                      timed, nothing recorded
#
# Run from the repository root. On the lent device machine put the wheels of ../shared/device-wheels
# in .whl/ first (this script installs them); $RESULTS (default benchmarks/results_gpu.md) is copied
# to $OUT after every step, so that it comes back with the run. Commit the returned file.
set -uo pipefail
DRY=0
[[ "${1:-}" == "--dry-run" ]] && DRY=1
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
REPO=$(pwd)
COMMIT=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
RESULTS=${RESULTS:-$REPO/benchmarks/results_gpu.md}

if (( ! DRY )); then
  SITE=/tmp/wavesim-site
  if compgen -G ".whl/*.whl" > /dev/null; then
    $PY -m pip install -q --no-index --no-deps --no-compile --upgrade --target "$SITE" .whl/*.whl
  fi
  $PY -m pip install -q --no-index --no-deps --no-build-isolation --upgrade --target "$SITE" .
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
CARD=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
CARD=${CARD:-no GPU}
echo "card: $CARD; commit $COMMIT; results in $RESULTS"

# step NAME CAP_S COMMAND...: run COMMAND under a time cap; on a GPU, append its output to $RESULTS,
# marked complete (and skipped next time) only if it exited 0 within the cap.
step() {
  local name=$1 cap=$2
  shift 2
  local mark="<!-- complete: $name @ $COMMIT -->"
  if (( ! DRY )) && grep -qF "$mark" "$RESULTS" 2>/dev/null; then
    echo "== $name: recorded for $COMMIT, skipped"
    return
  fi
  echo "== $name (cap ${cap} s)"
  local log start status
  log=$(mktemp)
  start=$SECONDS
  if (( DRY )); then
    (cd "$REPO" && "$@" > "$log" 2>&1)
    status=$?
    echo "   set-up $( ((status == 0)) && echo ok || echo "FAILED (exit $status)"): $*"
    (( status == 0 )) || tail -n 20 "$log"
    return
  fi
  (cd /tmp && timeout "$cap" "$@") 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  {
    echo
    (( status == 0 )) && echo "$mark"
    echo "### $name: $CARD, commit $COMMIT, $(date -u '+%Y-%m-%d %H:%M UTC'), exit $status, $((SECONDS - start)) s"
    echo
    echo '```'
    tail -n 60 "$log"
    echo '```'
  } >> "$RESULTS"
  if [[ -n "${OUT:-}" ]]; then cp "$RESULTS" "$OUT/"; fi
}

# The dry run checks each command's imports and options; the GPU run runs it.
HELP=()
(( DRY )) && HELP=(--help)
T="$REPO/tests"

# 1. The GPU tests and the conformance suite of every registered model on the real card.
if (( DRY )); then
  step "1 GPU tests and conformance" 120 $PY -m pytest --co -q -p no:cacheprovider "$T/backends/test_gpu.py" \
    "$T/backends/test_conformance.py" "$T/models/test_model_directional.py"
else
  step "1 GPU tests and conformance" 120 $PY -m pytest -q -p no:cacheprovider -rs "$T/backends/test_gpu.py" \
    "$T/backends/test_conformance.py" "$T/models/test_model_directional.py"
fi
# 2. Live streaming into training against the training step (target: twice what training consumes).
step "2 live streaming and stored clips" 80 $PY "$REPO/benchmarks/bench_data.py" --backends cuda --workers 0 \
  --json /tmp/wavesim-data.json "${HELP[@]}"
# 3. One step of each paper at paper size: how long an update takes on this card (the step counts of
#    docs/paper_experiments.md are estimates until this runs).
step "3a may2025 paper size, first step" 90 $PY -m wavesim reproduce may2025 --size paper \
  --out /tmp/wavesim-may-paper --device cuda --max-minutes 1.2 "${HELP[@]}"
step "3b ligeralde2023 paper size, first step" 90 $PY -m wavesim reproduce ligeralde2023 --size paper \
  --out /tmp/wavesim-lig-paper --max-minutes 1.2 "${HELP[@]}"
# 4. The kernels: the amacrine model's cell-updates/s on cuda against the CPU and PyTorch baselines.
step "4 simulation kernels" 100 $PY "$REPO/benchmarks/bench_simulate.py" --backends cuda \
  --json /tmp/wavesim-simulate.json "${HELP[@]}"
# 5. The directional and continuous models' kernels.
step "5a directional kernels" 40 $PY "$REPO/benchmarks/bench_directional.py" --quick "${HELP[@]}"
step "5b continuous models" 40 $PY "$REPO/benchmarks/bench_continuous.py" --quick "${HELP[@]}"
if (( ! DRY )) && [[ -e /tmp/wavesim-simulate.json && -e /tmp/wavesim-data.json ]]; then
  $PY "$REPO/benchmarks/gpu_summary.py" /tmp/wavesim-simulate.json /tmp/wavesim-data.json | tee -a "$RESULTS"
  if [[ -n "${OUT:-}" ]]; then cp "$RESULTS" "$OUT/"; fi
fi
