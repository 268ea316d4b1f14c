#!/usr/bin/env bash
# Amplitude head or not (docs/models.rst, "What the amplitude head buys"): the first-stage
# configuration of the bundled weights, shortened to 1,500 steps, trained with and without the
# amplitude head on the same data and seed, then both measured on the same test maps.
# About 13 minutes of training and 3 of evaluation per run on the 2-core development machine.
# Usage: bash tools/ablation_amplitude_head.sh WORK_DIR   (WORK_DIR/train.h5: the training set of
#        tools/train_bundled_weights.sh, e.g. a link to it; the script makes it if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:?usage: bash tools/ablation_amplitude_head.sh WORK_DIR}"
mkdir -p "$work"
bash tools/simulate_training_set.sh "$work"
sed -e 's/^steps = 10000/steps = 1500/' -e 's/^warmup_steps = 200/warmup_steps = 100/' \
    -e 's/^val_interval = 500/val_interval = 750/' configs/bundled_weights.toml > "$work/head.toml"
sed -e 's/^amplitude_head = true/amplitude_head = false/' "$work/head.toml" > "$work/nohead.toml"
for k in head nohead; do
    if [ -f "$work/$k/checkpoint.pt" ]; then
        massrecon train --resume "$work/$k" --quiet
    else
        massrecon train "$work/$k.toml" --run-dir "$work/$k" --quiet
    fi
    python -m massrecon.validation "$work/$k" --data "$work/train.h5" --out-dir "$work/eval_$k" --no-baselines \
        --n-self-consistent 0 --overwrite
done
echo "tables: $work/eval_head/metrics.md and $work/eval_nohead/metrics.md"
