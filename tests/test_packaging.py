"""The installed package: version, entry point, package data."""

import importlib.metadata
import subprocess
import sys

import massrecon


def test_version():
    assert massrecon.__version__
    assert massrecon.__version__ == importlib.metadata.version("massrecon")


def test_entry_point_help():
    out = subprocess.run([sys.executable, "-m", "massrecon", "--help"], capture_output=True, text=True,
                         check=True)
    for cmd in ("frame", "simulate", "demo", "train"):
        assert cmd in out.stdout


def test_public_api():
    for name in massrecon.__all__:
        assert hasattr(massrecon, name)
