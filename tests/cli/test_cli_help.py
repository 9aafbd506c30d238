"""Every command-line option says what it does, and its default once."""

import argparse
import re

import pytest

from wavesim.cli import build_parser

_NOT_OPTIONS = (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)
_FLAGS = (argparse._StoreTrueAction, argparse._StoreFalseAction)


def _parsers(parser, name="wavesim"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


PARSERS = list(_parsers(build_parser()))
OPTIONS = [(name, parser, action) for name, parser in PARSERS for action in parser._actions
           if not isinstance(action, _NOT_OPTIONS)]


def test_every_command_is_walked():
    assert {name for name, _ in PARSERS} >= {"wavesim generate", "wavesim stats", "wavesim fit", "wavesim sweep",
                                             "wavesim pretrain", "wavesim evaluate", "wavesim verify"}
    assert len(OPTIONS) > 150


@pytest.mark.parametrize("name, parser", PARSERS, ids=[name for name, _ in PARSERS])
def test_help_renders(name, parser):
    assert parser.format_help().startswith("usage: ")


@pytest.mark.parametrize("name, parser, action", OPTIONS,
                         ids=[f"{n} {'/'.join(a.option_strings) or a.dest}" for n, _, a in OPTIONS])
def test_every_option_has_help_and_prints_its_default_once(name, parser, action):
    assert action.help and action.help is not argparse.SUPPRESS and action.help.strip(), "no help text"
    text = parser._get_formatter()._expand_help(action)
    mentions = re.findall(r"\(default\b", text)
    assert len(mentions) <= 1, f"the default is printed {len(mentions)} times: {text!r}"
    if action.default is not None and not isinstance(action, _FLAGS) and not action.required:
        # a stated default is the parser's own, so text and behaviour cannot drift apart
        assert len(mentions) == 1, f"the default {action.default!r} is not printed: {text!r}"
        stated = re.search(r"\(default:? ([^;,) ]+)", text).group(1).strip("'\"")
        if isinstance(action.default, (int, float)):
            assert float(stated) == action.default, text
        else:
            assert stated == str(action.default), text
