#!/usr/bin/env bash
# Reproduce the bundled weights (massrecon/models/weights) from scratch on a 2-core CPU, in
# about 3.5 hours in all on the idle development machine (up to 4.5 beside other work) (bfloat16 autocast; see docs/training.rst):
#   1. simulate the training set (4000 halos x 8 lines of sight, 104 px over 2.6 R200, z 0.01-1,
#      half fiducial physics, a quarter each weak and strong feedback), about 13 min
#      (tools/simulate_training_set.sh);
#   2. train the conditional GAN with configs/bundled_weights.toml (10,000 steps; checkpoints every
#      250 steps, an interrupted run continues with: massrecon train --resume WORK/run);
#      the instrument domain of issue 15: X-ray noise to 1e38 at the reference level with
#      backgrounds 0.1-1e4 times it, y maps high-pass filtered as ground-based SZ maps are;
#   3. fine-tune it with configs/bundled_weights_finetune.toml (8,000 steps, about 42 min: the annulus-mean
#      profile loss, the shape-only pixel L1 (the maps' level set by the mass and profile terms),
#      X-ray noise as deep as eRASS1/ROSAT survey images, to 3e39; resume:
#      massrecon train --resume WORK/run_ft),
#   3b. continue it with configs/bundled_weights_finetune2.toml (6,000 steps at a third of the learning
#      rate, about 31 min; resume: massrecon train --resume WORK/run_ft2),
#   3c. export that generator to WORK/stage3 and train it on with configs/bundled_weights_finetune3.toml
#      (6,000 steps, a fresh discriminator, y-map noise as deep as ground-based SZ maps, to 5e-5;
#      about 27 min; resume: massrecon train --resume WORK/run_ft3),
#   4. export the generator, calibrate the ratio M_cyl(<R200)/M200 of the self-consistent R200 on
#      400 training halos (metadata key projected_ratio, massrecon.validation.projected_ratio) and
#      the views' M500 scaling relations on 1500 training maps (metadata key scaling_relations,
#      massrecon.validation.scaling_relations; the frame of self_consistent=True), and measure the
#      weights on the held-out test halos of the fiducial set (about 8 min),
#   5. calibrate the input ranges of the checks (massrecon.checks) on the training halos (a few minutes),
#   6. measure the weights on fresh simulations of every physics variant (seeds 11 and 12) and store
#      the physics systematic of the masses and the coverage scales of the uncertainty maps
#      (massrecon.validation.heldout, docs/validation.rst; a few minutes).
# Each stage ends within one 3-hour working session; finished stages are skipped, so rerunning the
# script after an interruption picks up where it stopped.
# Usage: bash tools/train_bundled_weights.sh [WORK_DIR]   (default runs/bundled)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-runs/bundled}"
mkdir -p "$work"
bash tools/simulate_training_set.sh "$work"
cp configs/bundled_weights.toml "$work/config.toml"
cp configs/bundled_weights_finetune.toml "$work/finetune.toml"
cp configs/bundled_weights_finetune2.toml "$work/finetune2.toml"
cp configs/bundled_weights_finetune3.toml "$work/finetune3.toml"
stage() {  # stage CONFIG RUN_DIR STEPS: train, resume, or skip a finished run
    if [ -f "$2/checkpoint.pt" ]; then
        if ! python -c "import sys, torch; sys.exit(torch.load('$2/checkpoint.pt', weights_only=True)['step'] < $3)"; then
            massrecon train --resume "$2"
        fi
    else
        massrecon train "$1" --run-dir "$2"
    fi
}
stage "$work/config.toml" "$work/run" 10000
stage "$work/finetune.toml" "$work/run_ft" 8000
stage "$work/finetune2.toml" "$work/run_ft2" 6000
if [ ! -f "$work/stage3/generator.json" ]; then  # written after generator.pt: a finished export
    python -c "from massrecon.training import export_weights; export_weights('$work/run_ft2', '$work/stage3', overwrite=True)"
fi
stage "$work/finetune3.toml" "$work/run_ft3" 6000
python -m massrecon.validation "$work/run_ft3" --data "$work/train.h5" --out-dir massrecon/models/weights --overwrite
# 5. calibrate the input ranges of the checks on 1000 training halos (a few minutes; see docs/checks.rst)
python -m massrecon.validation.input_ranges massrecon/models/weights/generator.json --n-halos 1000
# 6. the physics systematic and the coverage scales from held-out simulations (docs/validation.rst)
python -m massrecon.validation.heldout --data-dir "$work/heldout" --n-halos 100 --projections 2 \
    --frame-jitter 0.3 --threads 1 --out docs/validation_heldout.rst --json "$work/heldout.json" \
    --write-metadata massrecon/models/weights/generator.json --rescale-coverage
