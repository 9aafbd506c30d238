"""``wavesim reproduce ligeralde2023`` at a tiny size: every condition, the report, and an exact resume."""

import argparse
import json

import pytest

torch = pytest.importorskip("torch")

from helpers import write_cifar  # noqa: E402
from wavesim.errors import ParameterError  # noqa: E402
from wavesim.reproduce import PAPERS, get_paper  # noqa: E402

TINY = {"waves": {"movies": 2, "duration_s": 20.0, "frame_period_s": 0.5},
        "encoder_width": 2, "projector_dims": (8, 8, 8), "epochs": 2, "frame_limit": 30,
        "pair_batch_size": 2, "seeds": (42,), "images": 3, "translations": 3, "n_t": 5, "max_features": 400}


@pytest.fixture()
def lig(monkeypatch):
    module = get_paper("ligeralde2023")
    monkeypatch.setitem(module.SIZES, "cpu", TINY)
    return module


def _run(lig, argv):
    parser = argparse.ArgumentParser()
    lig.add_arguments(parser)
    return lig.run(parser.parse_args(argv))


def test_tiny_run_has_every_condition_and_says_which_images(lig, small_store, tmp_path, capsys):
    path, _ = small_store
    out = tmp_path / "run"
    assert _run(lig, ["--out", str(out), "--waves", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "no --cifar100 given" in printed and "scikit-image's photographs" in printed
    results = json.loads((out / "results.json").read_text())
    assert set(results["runs"]["42"]) == set(lig.NETWORKS)
    pretrained = results["runs"]["42"]["pretrained"]
    assert [row["epoch"] for row in pretrained["training"]] == [1, 2]
    assert list(pretrained["manifolds"]["layers"])[-1] == "projector.6"
    assert (out / "tables.md").read_text().count("| random initialisation |") == 2
    assert (out / "capacity.png").stat().st_size > 0
    assert not list((out / "checkpoints").iterdir())  # removed once their networks are analysed
    with pytest.raises(ParameterError, match="holds a run already: add --resume"):
        _run(lig, ["--out", str(out), "--waves", str(path)])
    with pytest.raises(ParameterError, match="started with other settings .*batching"):
        _run(lig, ["--out", str(out), "--waves", str(path), "--resume", "--batching", "pairs"])


def test_interrupted_and_resumed_run_gives_exactly_the_uninterrupted_results(lig, small_store, tmp_path):
    path, _ = small_store
    whole = tmp_path / "whole"
    assert _run(lig, ["--out", str(whole), "--waves", str(path)]) == 0
    steps = tmp_path / "steps"
    status, invocations = None, 0
    while status != 0:
        # a budget of 0 minutes: one batch or one analysis per invocation, then a checkpoint
        resume = ["--resume"] if invocations else []
        status = _run(lig, ["--out", str(steps), "--waves", str(path), "--max-minutes", "0", *resume])
        assert status in (0, 75)
        invocations += 1
    assert invocations > 10
    a = json.loads((whole / "results.json").read_text())
    b = json.loads((steps / "results.json").read_text())
    assert a["runs"] == b["runs"]
    assert b["timings"]["invocations"] == invocations


def test_cifar100_path_is_used_when_given(lig, small_store, tmp_path, capsys):
    write_cifar(tmp_path / "data", n=8)
    path, _ = small_store
    out = tmp_path / "run"
    assert _run(lig, ["--out", str(out), "--waves", str(path), "--cifar100", str(tmp_path / "data"),
                      "--seeds", "7", "--batching", "pairs", "--encoder", "resnet18"]) == 0
    assert "CIFAR-100 test set (8 images" in capsys.readouterr().out
    runs = json.loads((out / "results.json").read_text())["runs"]
    assert set(runs) == {"7"}
    # their ResNet-18's analysed layers: the stem's ReLU, eight block outputs, the projector's five
    assert len(runs["7"]["pretrained"]["manifolds"]["layers"]) == 14
    with pytest.raises(ParameterError, match="--seeds must be distinct integers"):
        _run(lig, ["--out", str(tmp_path / "other"), "--waves", str(path), "--seeds", "1", "1"])
    with pytest.raises(ParameterError, match="--max-minutes must be a number >= 0"):
        _run(lig, ["--out", str(tmp_path / "other"), "--waves", str(path), "--max-minutes", "-1"])


def test_the_paper_registry_names_its_choices():
    assert PAPERS["ligeralde2023"] == "wavesim.reproduce.ligeralde2023"
    with pytest.raises(ParameterError, match=r"paper must be one of \['ligeralde2023', 'may2025'\]"):
        get_paper("simclr")
