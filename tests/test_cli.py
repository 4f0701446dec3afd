"""`chainrule train` / `chainrule evaluate`: files written, accuracy, reproducibility, errors."""

import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from chainrule import cli
from chainrule.train import recipe


def _train(capsys, *args):
    code = cli.main(["train", *args, "--quiet"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out


def _evaluate(capsys, folder):
    assert cli.main(["evaluate", str(folder), "--json"]) == 0
    return json.loads(capsys.readouterr().out)["test"]


def test_train_digits_writes_three_files_and_learns(tmp_path, capsys):
    out = tmp_path / "run"
    printed = _train(capsys, "--epochs", "6", "--out", str(out))
    assert sorted(os.listdir(out)) == ["curves.png", "metrics.json", "model.safetensors"]
    assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG"
    report = json.loads((out / "metrics.json").read_text())
    assert report["test"]["accuracy"] >= 0.97  # 6 epochs of the default recipe: 0.99 (seed 0)
    assert report["samples"] == {"train": 1258, "val": 270, "test": 269}
    assert report["model"] == {"in_features": 64, "hidden": [256, 128], "classes": 10,
                               "activation": "relu", "dropout": 0.1, "batch_norm": True}
    assert report["epochs_run"] == len(report["history"]["loss"]) <= 6
    assert f"test accuracy {report['test']['accuracy']:.4f}" in printed.out
    # evaluate rebuilds the model and the split and measures exactly the saved numbers
    assert _evaluate(capsys, out) == report["test"]


def test_train_toy_set_with_options_and_evaluate(tmp_path, capsys):
    out = tmp_path / "moons"
    _train(capsys, "moons", "--samples", "600", "--noise", "0.1", "--hidden", "32,32",
           "--activation", "tanh", "--no-batch-norm", "--clip-grad-norm", "5", "--dropout", "0", "--optimizer", "sgd",
           "--momentum", "0.9", "--lr", "0.3", "--scheduler", "step", "--epochs", "25",
           "--batch-size", "32", "--patience", "0", "--seed", "3", "--threads", "0",
           "--out", str(out))
    report = json.loads((out / "metrics.json").read_text())
    assert report["epochs_run"] == 25 and not report["stopped_early"]
    assert report["test"]["accuracy"] >= 0.95
    assert len(report["preprocessing"]["mean"]) == 2  # toy sets are standardized
    assert (out / "boundary.png").read_bytes()[:4] == b"\x89PNG"  # 2-D data: the boundary
    assert report["history"]["lr"][-1] == pytest.approx(0.3 * 0.01)  # step: /10 twice
    assert _evaluate(capsys, out) == report["test"]


def test_train_csv_with_named_label_column(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 3))
    kind = np.where(X[:, 0] + X[:, 1] > 0, "big", "small")
    lines = ["a,kind,b,c"] + [f"{x[0]},{k},{x[1]},{x[2]}" for x, k in zip(X, kind)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "csvrun"
    _train(capsys, f"csv:{tmp_path / 't.csv'}", "--label-column", "kind", "--epochs", "30",
           "--hidden", "16", "--lr", "0.01", "--scheduler", "onecycle", "--optimizer", "adam",
           "--out", str(out))
    report = json.loads((out / "metrics.json").read_text())
    assert report["classes"] == ["big", "small"] and report["model"]["in_features"] == 3
    assert report["test"]["accuracy"] >= 0.9
    assert _evaluate(capsys, out) == report["test"]


def _write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">i4").tobytes()
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_train_mnist_folder_of_idx_files(tmp_path, capsys):
    # A tiny learnable MNIST stand-in: the class is which of four quadrants is bright.
    rng = np.random.default_rng(0)

    def images(n):
        labels = rng.integers(0, 4, n)
        pics = rng.integers(0, 60, (n, 28, 28))
        for q in range(4):
            r, c = divmod(q, 2)
            pics[labels == q, 14 * r:14 * r + 14, 14 * c:14 * c + 14] += 150
        return pics, labels

    for prefix, n in (("train", 400), ("t10k", 100)):
        pics, labels = images(n)
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", pics)
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", labels)
    out = tmp_path / "run"
    _train(capsys, f"mnist:{tmp_path}", "--hidden", "32", "--epochs", "3", "--out", str(out))
    report = json.loads((out / "metrics.json").read_text())
    assert report["samples"] == {"train": 340, "val": 60, "test": 100}
    assert report["model"]["in_features"] == 784 and report["test"]["accuracy"] >= 0.9
    assert report["preprocessing"] == {}  # pixels stay in [0, 1]
    assert _evaluate(capsys, out) == report["test"]


def test_checkpoint_and_resume_a_killed_run(tmp_path, capsys, monkeypatch):
    import importlib

    from safetensors.numpy import load_file

    fit_module = importlib.import_module("chainrule.train.fit")  # the module, not the function

    common = ["xor", "--samples", "300", "--epochs", "6", "--hidden", "16", "--scheduler",
              "onecycle", "--checkpoint"]
    _train(capsys, *common, "--out", str(tmp_path / "whole"))

    real_epoch, calls = fit_module._train_epoch, []

    def dies_in_epoch_4(*args, **kwargs):  # Ctrl-C in the middle of the fourth epoch
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(fit_module, "_train_epoch", dies_in_epoch_4)
    killed = tmp_path / "killed"
    assert cli.main(["train", *common, "--out", str(killed), "--quiet"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert not (killed / "model.safetensors").exists()
    monkeypatch.setattr(fit_module, "_train_epoch", real_epoch)
    # Other options are ignored: the run continues with its own settings.
    assert cli.main(["train", "--resume", str(killed), "--epochs", "99", "--quiet"]) == 0
    whole = load_file(str(tmp_path / "whole" / "model.safetensors"))
    resumed = load_file(str(killed / "model.safetensors"))
    assert sorted(whole) == sorted(resumed)
    for key in whole:
        np.testing.assert_array_equal(resumed[key], whole[key], err_msg=key)
    a = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    b = json.loads((killed / "metrics.json").read_text())
    assert a["test"] == b["test"] and a["history"]["val_loss"] == b["history"]["val_loss"]
    capsys.readouterr()
    assert cli.main(["train", "--resume", str(tmp_path / "whole" / "nothing")]) == 2
    assert "holds no interrupted run" in capsys.readouterr().err


def test_help_is_complete(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--hidden", "--activation", "--dropout", "--batch-norm", "--optimizer",
                   "--momentum", "--lr", "--weight-decay", "--scheduler", "--epochs",
                   "--batch-size", "--patience", "--seed", "--out", "--no-progress",
                   "--label-column", "--samples", "--val-fraction", "mnist:FOLDER", "csv:FILE",
                   "leaky_relu", "onecycle", "adamw", "--threads", "--quiet", "--checkpoint", "--clip-grad-norm",
                   "--resume"):
        assert option in text, option


@pytest.mark.parametrize("args,message", [
    (["train", "--epochs", "0"], "--epochs: expected a positive integer, got '0'"),
    (["train", "--activation", "swish"], "invalid choice: 'swish'"),
    (["train", "--hidden", "12,x"], "expected comma-separated layer sizes"),
    (["train", "--lr", "-1"], "expected a number >= 0"),
    (["train", "--val-fraction", "1.5"], "expected a fraction between 0 and 1"),
    (["train", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["fly"], "invalid choice: 'fly'"),
])
def test_bad_options_exit_2_with_one_line(args, message, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


@pytest.mark.parametrize("make_args,message", [
    (lambda p: ["train", "imagenet"], "unknown dataset 'imagenet'; expected one of digits"),
    (lambda p: ["train", f"mnist:{p / 'nowhere'}"], "does not exist; put the IDX files"),
    (lambda p: ["train", f"mnist:{p}"], "train-images-idx3-ubyte(.gz) not found in"),
    (lambda p: ["train", f"csv:{p / 'missing.csv'}"], "No such file or directory"),
    (lambda p: ["train", f"csv:{p / 'bad.csv'}"], "non-numeric feature value"),
    (lambda p: ["train", f"csv:{p / 'bad.csv'}", "--label-column", "zzz"], "no column 'zzz'"),
    (lambda p: ["train", "xor", "--dropout", "1"], "--dropout must be below 1"),
    (lambda p: ["train", "xor", "--val-fraction", "0.5", "--test-fraction", "0.5"],
     "val_fraction + test_fraction must be < 1"),
    (lambda p: ["evaluate", str(p)], "is not a run folder (no metrics.json in it)"),
])
def test_unreadable_data_exit_2_with_one_line(tmp_path, make_args, message, capsys):
    (tmp_path / "bad.csv").write_text("a,b,label\n1,x,0\n2,3,1\n")
    code = cli.main(make_args(tmp_path))
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert "Traceback" not in err


def test_python_dash_m_runs_and_fails_cleanly(tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    ok = subprocess.run([sys.executable, "-m", "chainrule", "train", "xor", "--epochs", "3",
                         "--samples", "200", "--out", str(tmp_path / "x"), "--no-progress"],
                        capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "epoch   3/3" in ok.stdout and "test accuracy" in ok.stdout and ok.stderr == ""
    bad = subprocess.run([sys.executable, "-m", "chainrule", "train", f"csv:{tmp_path}/no.csv"],
                         capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert bad.stderr.startswith("chainrule train: error:") and "Traceback" not in bad.stderr
    assert not os.path.exists(tmp_path / "runs")  # nothing written for a failed run


def test_recipe_build_mlp_layers():
    model = recipe.build_mlp(4, [8, 6], 3, activation="gelu", dropout=0.2, batch_norm=True)
    names = [type(m).__name__ for m in model]
    assert names == ["Linear", "BatchNorm1d", "GELU", "Dropout", "Linear", "BatchNorm1d", "GELU",
                     "Dropout", "Linear"]
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        recipe.build_mlp(4, [8], 3, activation="swish")
