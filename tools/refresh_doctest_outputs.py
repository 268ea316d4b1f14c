"""Refresh the printed outputs of doctests after new weights: run pytest on the given files and
replace each failing example's expected output by what it now prints, until they all pass.

Only the output lines of examples are touched; read the diff before committing, since a changed
number is a changed result that the prose around it may quote.

Usage: python tools/refresh_doctest_outputs.py FILE [FILE ...]
"""

import re
import subprocess
import sys
from pathlib import Path

_FAILURE = re.compile(r"Expected:\n(.*?)\nGot:\n(.*?)\n\n(/\S+?):(\d+): DocTestFailure", re.S)


def _replace(path, line, expected, got):
    lines = Path(path).read_text().split("\n")
    for i in range(line - 1, min(line + 40, len(lines) - len(expected) + 1)):
        if all(lines[i + k].strip() == expected[k].strip() for k in range(len(expected))):
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            lines[i : i + len(expected)] = [indent + g.strip() if g.strip() else "" for g in got]
            Path(path).write_text("\n".join(lines))
            return
    raise SystemExit(f"{path}:{line}: expected output {expected[0]!r} not found")


def main(files, max_rounds=30):
    for _ in range(max_rounds):
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files],
                             capture_output=True, text=True)
        failures = _FAILURE.findall(run.stdout)
        if not failures:
            print(run.stdout[-600:])
            if run.returncode != 0:  # errors that are not a changed output (an exception, a collection error)
                raise SystemExit("pytest failed for another reason than a changed output: see above")
            return
        # bottom-up within each file, so that a replacement of another length moves no later line
        for expected, got, path, line in sorted(failures, key=lambda f: (f[2], -int(f[3]))):
            expected = [x[4:] for x in expected.split("\n")]
            got = [x[4:] for x in got.split("\n")]
            if any("..." in x for x in expected):
                raise SystemExit(f"{path}:{line}: the expected output uses an ellipsis; update it by hand")
            _replace(path, int(line), expected, got)
            print(f"{path}:{line}: {expected[0]!r} -> {got[0]!r}")
    raise SystemExit(f"outputs still change after {max_rounds} rounds")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    main(sys.argv[1:])
