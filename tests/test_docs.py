"""The documentation says what the code does: its examples run and its command lines parse.

- Every ```pycon block of a page in ``docs/`` runs as a doctest (the blocks of one page share their
  names, in order), from the repository root, so the guide's examples cannot drift from the code.
- Every file of the repository that a page names (``tests/...py``, ``examples/...``, ``benchmarks/...``,
  ``datasets/recordings/...``) exists.
- Every ``wavesim`` command line in a shell block of ``docs/`` or the README parses with the command's
  own parser (options that no longer exist, or values of the wrong type, fail here).

The site itself is built, warnings as errors, by ``.ci/run``.
"""

from __future__ import annotations

import doctest
import re
import shlex
from pathlib import Path

import pytest

from wavesim.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: Folders of docs/ that the build writes (not sources).
GENERATED = ("_build", "api", "gallery")
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)


def _pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if not p.relative_to(DOCS).parts[0] in GENERATED)


def _blocks(path: Path, languages: tuple[str, ...]) -> list[str]:
    return [body for language, body in FENCE.findall(path.read_text()) if language in languages]


def _doctest_pages() -> list[Path]:
    return [p for p in _pages() if _blocks(p, ("pycon",))]


@pytest.mark.parametrize("page", _doctest_pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_the_examples_of_a_page_run(page, monkeypatch):
    monkeypatch.chdir(ROOT)
    text = "\n\n".join(_blocks(page, ("pycon",)))
    test = doctest.DocTestParser().get_doctest(text, {}, page.stem, str(page), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.attempted > 0
    assert results.failed == 0, f"{results.failed} of {results.attempted} examples of {page.name} failed (above)"


def command_lines(path: Path) -> list[str]:
    """The ``wavesim`` command lines of a page's shell blocks, continuation lines joined, comments dropped."""
    lines = []
    for body in _blocks(path, ("bash", "sh", "shell", "console")):
        for line in body.replace("\\\n", " ").splitlines():
            line = line.removeprefix("$ ").strip()
            if "wavesim" not in line or line.startswith("#"):
                continue
            words = shlex.split(line, comments=True)
            if "wavesim" in words:
                start = words.index("wavesim") + 1
                if start > 1 and words[start - 2] != "-m":  # `python -m wavesim ...` or `wavesim ...` only
                    continue
                lines.append(shlex.join(words[start:]))
    return lines


def _cases():
    for page in [ROOT / "README.md", *_pages()]:
        for line in command_lines(page):
            if "..." not in line and "<" not in line:  # elided or placeholder arguments
                yield pytest.param(line, id=f"{page.relative_to(ROOT)}: wavesim {line}"[:120])


@pytest.mark.parametrize("line", list(_cases()))
def test_a_documented_command_line_parses(line, capsys):
    try:
        args = build_parser().parse_args(shlex.split(line))
    except SystemExit as exc:
        if exc.code == 0:  # --version, --help
            return
        pytest.fail(f"`wavesim {line}` does not parse: {capsys.readouterr().err.strip()} (exit {exc.code})")
    assert args.command


CITED = re.compile(r"`((?:tests|examples|benchmarks|datasets/recordings)/[\w./-]+\.(?:py|sh|txt|h5|md|toml))`")


@pytest.mark.parametrize("page", [ROOT / "README.md", *_pages()], ids=lambda p: str(p.relative_to(ROOT)))
def test_the_files_a_page_names_exist(page):
    text = page.read_text()
    # a page may write files of its own ("File `tests/test_toywaves.py`:") and name files by pattern (NAME)
    written = set(re.findall(r"^File `([^`]+)`:", text, re.M))
    missing = sorted({path for path in CITED.findall(text)
                      if not (ROOT / path).exists() and path not in written and "NAME" not in path})
    assert not missing, f"{page.relative_to(ROOT)} names files that do not exist: {missing}"


def test_command_lines_are_found():
    """The extraction sees the README's commands (a guard against a test that checks nothing)."""
    lines = command_lines(ROOT / "README.md")
    assert any(line.startswith("generate ") for line in lines)
    assert any(line.startswith("pretrain ") for line in lines)
