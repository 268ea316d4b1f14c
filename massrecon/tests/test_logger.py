"""The massrecon logger works whatever the user's logging set-up."""

import subprocess
import sys


def test_logger_created_before_import_does_not_crash():
    # A plain Logger named "astropy.massrecon" made before massrecon is imported lacks
    # AstropyLogger.makeRecord; astropy's handler formats record.origin and used to raise.
    code = ("import logging; logging.getLogger('astropy.massrecon'); "
            "from massrecon.logger import log; log.warning('hello from massrecon')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "hello from massrecon" in out.stdout + out.stderr
    assert "origin" not in out.stderr
