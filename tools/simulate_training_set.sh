#!/usr/bin/env bash
# The training set of the bundled weights: 4000 halos x 8 lines of sight, 104 px over 2.6 R200,
# z 0.01-1, in three physics variants as the paper's simulations span three codes (issue 15):
#   WORK/train.h5         fiducial,        2000 halos, seed 1
#   WORK/train_weak.h5    weak_feedback,   1000 halos, seed 31
#   WORK/train_strong.h5  strong_feedback, 1000 halos, seed 32
# (seeds 11 and 12 are kept for the held-out test simulations); about 13 minutes in all on 2 cores.
# A file that exists is kept, so an interrupted run resumes.
# Usage: bash tools/simulate_training_set.sh WORK_DIR
set -euo pipefail
work="${1:?usage: bash tools/simulate_training_set.sh WORK_DIR}"
mkdir -p "$work"
sim() {  # sim OUT PHYSICS N_HALOS SEED
    if [ ! -f "$1" ]; then
        massrecon simulate --n-halos "$3" --projections 8 --npix 104 --size-r200 2.6 --z-min 0.01 --z-max 1.0 \
            --physics "$2" --seed "$4" --maps sigma_total,compton_y,xray_soft,sigma_stars,sigma_members \
            --out "$1.part"
        mv "$1.part" "$1"
    fi
}
sim "$work/train.h5" fiducial 2000 1
sim "$work/train_weak.h5" weak_feedback 1000 31
sim "$work/train_strong.h5" strong_feedback 1000 32
