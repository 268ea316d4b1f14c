#!/usr/bin/env bash
# The training set of the bundled weights: 4000 halos x 8 lines of sight, 104 px over 2.6 R200,
# z 0.01-1, in three physics variants as the paper's simulations span three codes (issue 15):
#   WORK/train.h5         fiducial,        2000 halos, seed 1
#   WORK/train_weak.h5    weak_feedback,   1000 halos, seed 31
#   WORK/train_strong.h5  strong_feedback, 1000 halos, seed 32
# (seeds 11 and 12 are kept for the held-out test simulations); about 13 minutes in all on 2 cores.
# With a second argument, the variants of that suffix: v1 simulates the superseded gas calibration
# (fiducial_v1, ...; massrecon.simulate.SUPERSEDED_PHYSICS_MODELS) that the first phase of the
# bundled weights is trained on (tools/train_bundled_weights.sh).
# A file that exists is kept if it holds the same physics, so an interrupted run resumes.
# Usage: bash tools/simulate_training_set.sh WORK_DIR [SUFFIX]
set -euo pipefail
work="${1:?usage: bash tools/simulate_training_set.sh WORK_DIR [SUFFIX]}"
suffix="${2:+_$2}"
mkdir -p "$work"
stored_physics() {  # the physics variant a data set was simulated with
    python -c "import sys, h5py; from massrecon.simulate import SimulationConfig; \
print(SimulationConfig.from_json(h5py.File(sys.argv[1], 'r').attrs['config']).physics)" "$1"
}
sim() {  # sim OUT PHYSICS N_HALOS SEED
    if [ -f "$1" ]; then
        got="$(stored_physics "$1")"
        if [ "$got" != "$2" ]; then
            echo "error: $1 was simulated with the physics $got, not $2 (an earlier recipe's set?): move it away" >&2
            exit 1
        fi
    else
        massrecon simulate --n-halos "$3" --projections 8 --npix 104 --size-r200 2.6 --z-min 0.01 --z-max 1.0 \
            --physics "$2" --seed "$4" --maps sigma_total,compton_y,xray_soft,sigma_stars,sigma_members \
            --out "$1.part"
        mv "$1.part" "$1"
    fi
}
sim "$work/train.h5" "fiducial$suffix" 2000 1
sim "$work/train_weak.h5" "weak_feedback$suffix" 1000 31
sim "$work/train_strong.h5" "strong_feedback$suffix" 1000 32
