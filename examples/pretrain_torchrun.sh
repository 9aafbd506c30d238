#!/usr/bin/env bash
# Pre-train next-frame prediction with several processes: torchrun starts them, each trains on its own share of
# the clips and its own device, DistributedDataParallel keeps their weights equal, and rank 0 writes the checkpoint.
#
# Run: bash examples/pretrain_torchrun.sh              (two CPU processes on gloo, about a minute)
#      NPROC=4 bash examples/pretrain_torchrun.sh      (on a node with 4 GPUs: rank r on cuda:r, nccl)
# Several nodes: the same command on each, with torchrun's --nnodes, --node_rank and --rdzv_endpoint instead
# of --standalone.
set -euo pipefail
NPROC=${NPROC:-2}
OUT=${OUT:-torchrun_example}
mkdir -p "$OUT"

# 8 single waves of 128 frames: 88 clips of 11 frames, which 2, 4, 8 or 11 ranks share evenly. Another world
# size stops with a one-line error before training; --remainder drop or pad accepts it.
wavesim generate "$OUT/waves.zarr" --model directional --movies 8 --overwrite --no-progress

torchrun --standalone --nproc_per_node "$NPROC" -m wavesim pretrain --store "$OUT/waves.zarr" --updates 20 \
    --batch-size 4 --size-px 32 --hidden-channels 8 --out "$OUT/nf.pt"
