#!/usr/bin/env bash
# Reproduce the bundled weights (massrecon/models/weights) from scratch on a 2-core CPU:
#   1. simulate the training set (4000 halos x 8 lines of sight, 104 px over 2.6 R200, z 0.01-1),
#   2. train the conditional GAN with configs/bundled_weights.toml (checkpoints every 250 steps;
#      an interrupted run continues with: massrecon train --resume WORK/run),
#   3. export the generator and measure it on the held-out test halos.
# Usage: bash tools/train_bundled_weights.sh [WORK_DIR]   (default runs/bundled)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-runs/bundled}"
mkdir -p "$work"
massrecon simulate --n-halos 4000 --projections 8 --npix 104 --size-r200 2.6 --z-min 0.01 --z-max 1.0 \
    --seed 1 --maps sigma_total,compton_y,xray_soft,sigma_stars,sigma_members --out "$work/train.h5"
cp configs/bundled_weights.toml "$work/config.toml"
if [ -f "$work/run/checkpoint.pt" ]; then
    massrecon train --resume "$work/run"
else
    massrecon train "$work/config.toml" --run-dir "$work/run"
fi
python -m massrecon.validation "$work/run" --data "$work/train.h5" --out-dir massrecon/models/weights --overwrite
