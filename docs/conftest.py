from pathlib import Path

import pytest

# The Sphinx configuration is not a test module.
collect_ignore = ["conf.py", "_build"]

#: Tutorials that run on real data kept next to a development checkout (``../shared/data``), never
#: shipped with the package: skipped, with the reason, where the data are absent.
_SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
_NEEDS_SHARED = {"efeds.rst": "efeds"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        needed = _NEEDS_SHARED.get(item.path.name)
        if needed and item.path.parent.name == "tutorials" and not (_SHARED_DATA / needed).is_dir():
            item.add_marker(pytest.mark.skip(reason=f"real data not available: {_SHARED_DATA / needed}"))
