#!/usr/bin/env bash
# Reproduce the bundled weights (massrecon/models/weights) from scratch on a 2-core CPU, in
# about 4.5 hours in all on a 2-core CPU with bfloat16 hardware (AVX512-BF16 or AMX: the
# configurations' autocast = "auto" uses it; about 3 times longer in float32 on a CPU without it;
# see docs/training.rst), in two phases.  The first phase (about 3.5
# hours) trains on the superseded gas calibration (the *_v1 physics variants,
# massrecon.simulate.SUPERSEDED_PHYSICS_MODELS), the second (about 1 hour; 1.5-2 hours in float32)
# fine-tunes its generator on the recalibrated gas of the current simulator:
# Phase 1, in WORK/phase1:
#   1. simulate its training set (4000 halos x 8 lines of sight, 104 px over 2.6 R200, z 0.01-1,
#      half fiducial physics, a quarter each weak and strong feedback), about 13 min
#      (tools/simulate_training_set.sh WORK/phase1 v1);
#   2. train the conditional GAN with configs/bundled_weights.toml (10,000 steps; checkpoints every
#      250 steps, an interrupted run continues with: massrecon train --resume WORK/phase1/run);
#      the instrument domain of issue 15: X-ray noise to 1e38 at the reference level with
#      backgrounds 0.1-1e4 times it, y maps high-pass filtered as ground-based SZ maps are;
#   3. fine-tune it with configs/bundled_weights_finetune.toml (8,000 steps, about 42 min: the annulus-mean
#      profile loss, the shape-only pixel L1 (the maps' level set by the mass and profile terms),
#      X-ray noise as deep as eRASS1/ROSAT survey images, to 3e39; resume:
#      massrecon train --resume WORK/phase1/run_ft),
#   3b. continue it with configs/bundled_weights_finetune2.toml (6,000 steps at a third of the learning
#      rate, about 31 min; resume: massrecon train --resume WORK/phase1/run_ft2),
#   3c. export that generator to WORK/phase1/stage3 and train it on with
#      configs/bundled_weights_finetune3.toml (6,000 steps, a fresh discriminator, y-map noise as
#      deep as ground-based SZ maps, to 5e-5; about 27 min; resume:
#      massrecon train --resume WORK/phase1/run_ft3), and export it to WORK/phase1/stage4.
# Phase 2, in WORK:
#   4. simulate the training set again with the current physics (tools/simulate_training_set.sh WORK),
#      about 13 min, and train the phase-1 generator on it with
#      configs/bundled_weights_finetune4.toml (2,500 steps, a fresh discriminator; about 40 min in
#      float32 on a 2-core AMD EPYC without bfloat16 hardware, about 15 min with it;
#      resume: massrecon train --resume WORK/run_ft4);
#   5. export the generator, calibrate the ratio M_cyl(<R200)/M200 of the self-consistent R200 on
#      400 training halos (metadata key projected_ratio, massrecon.validation.projected_ratio) and
#      the views' M500 scaling relations on 1500 training maps (metadata key scaling_relations,
#      massrecon.validation.scaling_relations; the frame of self_consistent=True), and measure the
#      weights on the held-out test halos of the fiducial set (about 8 min),
#   6. calibrate the input ranges of the checks (massrecon.checks) on the training halos (a few minutes),
#   7. measure the weights on fresh simulations of every physics variant (seeds 11 and 12) and store
#      the physics systematic of the masses and the coverage scales of the uncertainty maps
#      (massrecon.validation.heldout, docs/validation.rst; a few minutes).
# Each stage ends within one 3-hour working session; finished stages are skipped, so rerunning the
# script after an interruption picks up where it stopped (an existing WORK/phase1/stage4 export skips
# the whole first phase).
# Usage: bash tools/train_bundled_weights.sh [WORK_DIR]   (default runs/bundled)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-runs/bundled}"
p1="$work/phase1"
if [ -e "$work/run_ft3" ] && [ ! -e "$p1" ]; then
    echo "error: $work holds a run of the one-phase recipe (run_ft3): move its train*.h5, run*, stage3 and" \
         "*.toml into $p1 to reuse it as the first phase, and remove $work/heldout" >&2
    exit 1
fi
mkdir -p "$p1"
stage() {  # stage CONFIG RUN_DIR STEPS: train, resume, or skip a finished run
    if [ -f "$2/checkpoint.pt" ]; then
        if ! python -c "import sys, torch; sys.exit(torch.load('$2/checkpoint.pt', weights_only=True)['step'] < $3)"; then
            massrecon train --resume "$2"
        fi
    else
        massrecon train "$1" --run-dir "$2"
    fi
}
export_once() {  # export_once RUN_DIR OUT_DIR: generator.json is written after generator.pt, so it marks a finished export
    if [ ! -f "$2/generator.json" ]; then
        python -c "from massrecon.training import export_weights; export_weights('$1', '$2', overwrite=True)"
    fi
}
if [ ! -f "$p1/stage4/generator.json" ]; then
    bash tools/simulate_training_set.sh "$p1" v1
    cp configs/bundled_weights.toml "$p1/config.toml"
    cp configs/bundled_weights_finetune.toml "$p1/finetune.toml"
    cp configs/bundled_weights_finetune2.toml "$p1/finetune2.toml"
    cp configs/bundled_weights_finetune3.toml "$p1/finetune3.toml"
    stage "$p1/config.toml" "$p1/run" 10000
    stage "$p1/finetune.toml" "$p1/run_ft" 8000
    stage "$p1/finetune2.toml" "$p1/run_ft2" 6000
    export_once "$p1/run_ft2" "$p1/stage3"
    stage "$p1/finetune3.toml" "$p1/run_ft3" 6000
    export_once "$p1/run_ft3" "$p1/stage4"
fi
bash tools/simulate_training_set.sh "$work"
cp configs/bundled_weights_finetune4.toml "$work/finetune4.toml"
stage "$work/finetune4.toml" "$work/run_ft4" 2500
python -m massrecon.validation "$work/run_ft4" --data "$work/train.h5" --out-dir massrecon/models/weights --overwrite
# 6. calibrate the input ranges of the checks on 1000 training halos (a few minutes; see docs/checks.rst)
python -m massrecon.validation.input_ranges massrecon/models/weights/generator.json --n-halos 1000
# 7. the physics systematic and the coverage scales from held-out simulations (docs/validation.rst)
python -m massrecon.validation.heldout --data-dir "$work/heldout" --n-halos 100 --projections 2 \
    --frame-jitter 0.3 --threads 1 --out docs/validation_heldout.rst --json "$work/heldout.json" \
    --write-metadata massrecon/models/weights/generator.json --rescale-coverage
