"""`chainrule train --model cnn`: the CNN recipe on the bundled digits and on MNIST IDX files."""

import gzip
import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import cli, nn
from chainrule.train import recipe
from chainrule.train.cnn import build_cnn, image_shape


def _train(capsys, *args):
    code = cli.main(["train", *args, "--quiet"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out


def test_cnn_on_digits_with_the_defaults_reaches_099_and_evaluates_back(tmp_path, capsys):
    out = tmp_path / "run"
    _train(capsys, "--model", "cnn", "--out", str(out))   # ~5 s on one core
    report = json.loads((out / "metrics.json").read_text())
    assert report["model"]["model"] == "cnn" and report["model"]["image_shape"] == [8, 8]
    assert report["config"]["epochs"] == 40 and report["config"]["label_smoothing"] == 0.1
    assert report["test"]["accuracy"] >= 0.99  # issue 13 (seed 0: 0.9963)
    assert cli.main(["evaluate", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["test"] == report["test"]


def _write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">i4").tobytes()
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_cnn_on_an_mnist_folder(tmp_path, capsys):
    # A learnable 28x28 stand-in for MNIST: the class is where a bright bar lies.
    rng = np.random.default_rng(0)

    def images(n):
        labels = rng.integers(0, 4, n)
        pics = rng.integers(0, 60, (n, 28, 28))
        for q in range(4):
            pics[labels == q, 7 * q:7 * q + 7, :] += 150
        return pics, labels

    for prefix, n in (("train", 300), ("t10k", 100)):
        pics, labels = images(n)
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", pics)
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", labels)
    out = tmp_path / "run"
    _train(capsys, f"mnist:{tmp_path}", "--model", "cnn", "--epochs", "2", "--out", str(out))
    report = json.loads((out / "metrics.json").read_text())
    assert report["model"]["image_shape"] == [28, 28]
    assert report["test"]["accuracy"] >= 0.9


def test_cnn_refuses_data_that_are_not_images(tmp_path, capsys):
    assert cli.main(["train", "moons", "--model", "cnn", "--out", str(tmp_path / "r"),
                     "--quiet"]) == 2
    assert "--model cnn needs square grey images" in capsys.readouterr().err


def test_help_describes_the_cnn(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--model {mlp,cnn}" in text and "Conv2d 3x3" in text


def test_build_cnn_layers_and_counts():
    cr.manual_seed(0)
    model = build_cnn(image_shape(784), 10, hidden=128)
    assert model(cr.zeros(3, 784)).shape == (3, 10)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [tuple(c.weight.shape) for c in convs] == [(32, 1, 3, 3), (64, 32, 3, 3)]
    same = recipe.build_model({"model": "cnn", "image_shape": [8, 8], "classes": 10,
                               "hidden": [64], "dropout": 0.0, "in_features": 64,
                               "activation": "relu", "batch_norm": True})
    assert sum(p.numel() for p in same.parameters()) == \
        (32 * 9 + 32) + 2 * 32 + (64 * 32 * 9 + 64) + 2 * 64 + (256 * 64 + 64) + (64 * 10 + 10)
