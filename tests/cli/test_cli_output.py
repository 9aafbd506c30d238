"""What the command line writes besides its results: progress bars only on a terminal, nothing with --quiet."""

import io
import sys

import pytest

from wavesim.cli import build_parser, main

TINY = ["--width-um", "200", "--warmup-s", "1", "--duration-s", "2", "--movies", "2"]


class Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self):
        return True


def _subcommands():
    (sub,) = [a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction"]
    return sub.choices


@pytest.mark.parametrize("command", sorted(_subcommands()))
def test_every_command_takes_quiet(command):
    parser = _subcommands()[command]
    assert "--quiet" in parser.format_help() and "-q" in parser.format_help()


def test_progress_bars_are_drawn_on_a_terminal_only(tmp_path, monkeypatch, capsys):
    assert main(["generate", str(tmp_path / "log.zarr"), *TINY]) == 0
    err = capsys.readouterr().err
    assert "simulating" not in err and "sim s" not in err  # a log file, not a terminal: no bar
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["generate", str(tmp_path / "tty.zarr"), *TINY]) == 0
    assert "simulating" in terminal.getvalue() and "movies 2/2" in terminal.getvalue()
    terminal.truncate(0)
    assert main(["generate", str(tmp_path / "off.zarr"), *TINY, "--no-progress"]) == 0
    assert "simulating" not in terminal.getvalue()


def test_quiet_keeps_results_and_errors_and_drops_notes_and_bars(tmp_path, monkeypatch, capsys):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["generate", str(tmp_path / "q.zarr"), *TINY, "--quiet"]) == 0
    assert terminal.getvalue() == ""  # neither "backend auto -> ..." nor a bar
    assert "q.zarr: 2/2 movies complete" in capsys.readouterr().out
    assert main(["generate", str(tmp_path / "q.zarr"), *TINY, "-q"]) == 2
    lines = terminal.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wavesim generate: error: ") and "already exists" in lines[0]
    assert sys.stderr is terminal  # put back after the command
