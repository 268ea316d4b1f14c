#!/usr/bin/env bash
# Create a virtual environment with massrecon and its test extra.  torch==2.13.0 is installed
# first: on a machine without a GPU it is a CPU build, while a bare "torch" requirement would
# pull a several-GB CUDA build.
set -euo pipefail
venv="${1:-.venv}"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet torch==2.13.0
"$venv/bin/python" -m pip install --quiet -e ".[test]"
