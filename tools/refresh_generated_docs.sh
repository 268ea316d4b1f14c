#!/usr/bin/env bash
# After tools/train_bundled_weights.sh WORK has written new bundled weights (massrecon/models/weights,
# docs/validation_heldout.rst), regenerate every other table and number of the documentation that
# depends on the weights, in about 15 minutes on the 2-core machine:
#   * the real-cluster table (docs/validation_table.rst/.ecsv) and the amplitude responses
#     (docs/validation_response.rst), on ../shared/data;
#   * the tracer comparison (docs/validation_tracers.rst) on the held-out fiducial set;
#   * the regression data of the tests (tools/make_regression_data.py);
#   * the numbers of accuracy.rst / validation.rst / training.rst that no table writes
#     (tools/measure_docs_numbers.py), into WORK/numbers_*.txt, to copy into the prose;
#   * the doctest outputs of the docs pages and docstrings that print masses (tools/refresh_doctest_outputs.py).
# heldout_data (ignored by git) is linked to WORK/heldout, the held-out simulations of the recipe.
# Usage: bash tools/refresh_generated_docs.sh WORK_DIR   (default runs/bundled)
# PYTHON picks the interpreter (default: python on PATH, e.g. the activated virtual environment).
set -euo pipefail
work="$(cd "${1:-runs/bundled}" && pwd)"  # resolved before leaving the caller's directory
cd "$(dirname "$0")/.."
python="${PYTHON:-python}"
export MPLBACKEND=agg
if [ ! -f "$work/heldout/fiducial_seed11.h5" ] || [ ! -f "$work/train.h5" ]; then
    echo "error: $work has no heldout/fiducial_seed11.h5 or train.h5: run tools/train_bundled_weights.sh $work first" >&2
    exit 1
fi
if [ -e heldout_data ] && [ ! -L heldout_data ]; then
    echo "error: heldout_data exists and is not a link; move it away first" >&2
    exit 1
fi
ln -sfn "$work/heldout" heldout_data
step() { echo "$(date +%H:%M:%S) $*"; }
step "real clusters"; "$python" -m massrecon.validation.real_clusters --out docs/validation_table.rst
step "responses"; "$python" -m massrecon.validation.response --out docs/validation_response.rst \
    --mock-data heldout_data/fiducial_seed11.h5
step "tracers"; "$python" -m massrecon.validation.tracers --data heldout_data/fiducial_seed11.h5 --n-max 120 \
    --out docs/validation_tracers.rst
step "regression data"; "$python" tools/make_regression_data.py
step "numbers"
"$python" tools/measure_docs_numbers.py relation600 "$work/train.h5" > "$work/numbers_relation600.txt"
"$python" tools/measure_docs_numbers.py variants heldout_data > "$work/numbers_variants.txt"
"$python" tools/measure_docs_numbers.py depth heldout_data > "$work/numbers_depth.txt"
"$python" tools/measure_docs_numbers.py xray_profiles "$work/train.h5" --ecsv docs/validation_xray_profiles.ecsv \
    > "$work/numbers_xray_profiles.txt"
"$python" tools/measure_docs_numbers.py tension "$work/train.h5" > "$work/numbers_tension.txt"
step "doctest outputs"
"$python" tools/refresh_doctest_outputs.py docs/*.rst docs/tutorials/*.rst README.rst $(git ls-files "massrecon/*.py" | grep -v -e /tests/ -e __main__.py)
step "done: now compare the prose of docs/*.rst and CHANGELOG.rst with the new tables and $work/numbers_*.txt"
