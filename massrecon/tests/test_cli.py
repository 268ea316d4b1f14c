import pytest

from massrecon.cli import main


def test_frame_command(capsys):
    assert main(["frame", "--example", "a1835", "--npix", "40"]) == 0
    out = capsys.readouterr().out
    assert "a1835" in out and "(40, 40)" in out and "R200c" in out


def test_frame_command_bad_example(capsys):
    assert main(["frame", "--example", "nowhere"]) == 2
    assert "name must be one of" in capsys.readouterr().err


def test_frame_command_bad_npix(capsys):
    assert main(["frame", "--npix", "4"]) == 2
    assert "npix must be at least 8" in capsys.readouterr().err


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert "massrecon" in capsys.readouterr().out
