#!/usr/bin/env bash
# The training set of the bundled weights (4000 halos x 8 lines of sight, 104 px over 2.6 R200,
# z 0.01-1, seed 1; about 13 minutes on 2 cores), written to OUT.h5 unless it exists.
# Usage: bash tools/simulate_training_set.sh OUT.h5
set -euo pipefail
out="${1:?usage: bash tools/simulate_training_set.sh OUT.h5}"
if [ ! -f "$out" ]; then
    massrecon simulate --n-halos 4000 --projections 8 --npix 104 --size-r200 2.6 --z-min 0.01 --z-max 1.0 \
        --seed 1 --maps sigma_total,compton_y,xray_soft,sigma_stars,sigma_members --out "$out"
fi
