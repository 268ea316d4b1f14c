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


def test_help_and_version_stay_light():
    # --help, --version and info must not import torch, the simulator or astropy.cosmology: they
    # are what a user types first, and loading those takes seconds.
    import subprocess
    import sys

    code = ("import sys; from massrecon.cli import main\n"
            "for argv in (['--version'], ['--help']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "main(['info'])\n"
            "heavy = [m for m in ('torch', 'massrecon.simulate', 'massrecon.training', 'astropy.cosmology')\n"
            "         if m in sys.modules]\n"
            "print('HEAVY', heavy)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout, out.stdout


def test_info_command(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "bundled weights" in out and "sha256" in out and "log10 M200c" in out
    assert "scaling relations" in out and "scatter" in out  # the self-consistent frame's relations


def test_every_subcommand_has_help_with_an_example(capsys):
    from massrecon.cli import _SUBCOMMANDS

    for name in _SUBCOMMANDS:
        with pytest.raises(SystemExit):
            main([name, "--help"])
        out = capsys.readouterr().out
        assert f"massrecon {name}" in out and "example" in out, name


def test_keyboard_interrupt_is_one_line(monkeypatch, capsys):
    import massrecon.cli as cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_cmd_frame", interrupted)
    assert cli.main(["frame"]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "interrupted" in err


def test_debug_shows_the_traceback():
    with pytest.raises(ValueError):
        main(["--debug", "frame", "--example", "nowhere"])


def test_lookup_missing_catalogue_is_one_line(tmp_path, capsys):
    assert main(["lookup", "10", "20", "--catalog", str(tmp_path / "none.fits")]) == 2
    err = capsys.readouterr().err
    assert "none.fits" in err and err.count("\n") == 1
