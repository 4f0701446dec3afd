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
    assert report["config"]["label_smoothing"] == 0.0   # the MLP's default (the CNN's: 0.1)
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
    (["train", "xor", "--samples", "100000000"], "expected at most 10000000 points"),
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


# --- the CLI never loses a run -------------------------------------------------------------

from chainrule.train import run_folder  # noqa: E402

TINY = ["xor", "--samples", "200", "--epochs", "2", "--hidden", "8", "--batch-size", "32"]


def _snapshot(folder):
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


def _fails(capsys, *args):
    """A command that must exit 2 with one line naming what is wrong, no traceback."""
    code = cli.main(list(args))
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_two_runs_in_the_same_second_get_two_folders(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(run_folder, "_stamp", lambda: "20261201-093000")
    _train(capsys, *TINY)
    (tmp_path / "runs" / "20261201-093000-2").mkdir()  # taken, though empty: never reused
    _train(capsys, *TINY)
    assert sorted(os.listdir(tmp_path / "runs")) == [
        "20261201-093000", "20261201-093000-2", "20261201-093000-3"]
    assert os.listdir(tmp_path / "runs" / "20261201-093000-2") == []
    assert (tmp_path / "runs" / "20261201-093000-3" / "metrics.json").exists()


def test_concurrent_claims_never_share_a_folder(tmp_path, monkeypatch):
    import threading
    monkeypatch.setattr(run_folder, "_stamp", lambda: "same-second")
    claims, barrier = [], threading.Barrier(16)

    def claim():
        barrier.wait()
        claims.append(run_folder.claim_run_folder(base=str(tmp_path / "runs")).path)

    threads = [threading.Thread(target=claim) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(claims)) == 16 and len(os.listdir(tmp_path / "runs")) == 16


def test_out_holding_a_run_is_refused_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "R"
    old_umask = os.umask(0o022)
    try:
        _train(capsys, "moons", "--samples", "200", "--epochs", "2", "--hidden", "8",
               "--out", str(out))
    finally:
        os.umask(old_umask)
    for name in ("metrics.json", "model.safetensors", "curves.png", "boundary.png"):
        assert (out / name).stat().st_mode & 0o777 == 0o644, name  # a normal write's mode
    before = _snapshot(out)
    assert "boundary.png" in before
    err = _fails(capsys, "train", *TINY, "--out", str(out))
    assert f"--out {out} already holds a run (model.safetensors" in err and "--overwrite" in err
    assert _snapshot(out) == before  # refused before anything was touched
    (tmp_path / "file").write_text("x")
    assert "exists and is not a folder" in _fails(capsys, "train", *TINY, "--out",
                                                   str(tmp_path / "file"))
    (tmp_path / "empty").mkdir()  # an existing folder without a run is fine
    _train(capsys, *TINY, "--out", str(tmp_path / "empty"))
    # --overwrite with a 64-feature run: no boundary.png of the old run is left to mislead
    _train(capsys, "digits", "--epochs", "1", "--hidden", "8", "--out", str(out),
           "--overwrite")
    assert sorted(os.listdir(out)) == ["curves.png", "metrics.json", "model.safetensors"]
    report = json.loads((out / "metrics.json").read_text())
    assert report["model"]["in_features"] == 64
    assert _evaluate(capsys, out) == report["test"]


def test_a_run_that_dies_of_a_nan_loss_overwrites_nothing(tmp_path, capsys, monkeypatch):
    out = tmp_path / "R"
    _train(capsys, *TINY, "--checkpoint", "--out", str(out))
    before = _snapshot(out)
    nan = ["--optimizer", "sgd", "--lr", "1e30", "--momentum", "0", "--no-batch-norm"]
    with np.errstate(all="ignore"):
        err = _fails(capsys, "train", *TINY, *nan, "--out", str(out), "--overwrite")
        assert "the loss became nan" in err
        assert _snapshot(out) == before  # nothing is written before it is complete
        monkeypatch.chdir(tmp_path)  # without --out: no empty run folder is left behind
        _fails(capsys, "train", *TINY, *nan)
    assert os.listdir(tmp_path / "runs") == []


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("trained") / "run"
    assert cli.main(["train", *TINY, "--checkpoint", "--out", str(out), "--quiet"]) == 0
    return out


def _edit_json(path, edit):
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def _truncate(path):
    path.write_bytes(path.read_bytes()[:-7])


def _symlink_to_zero(path):
    path.unlink()
    path.symlink_to("/dev/zero")


def _deep(path):
    path.write_text("[" * 100_000 + "]" * 100_000)


def _setitem(section, key, value):
    def edit(data):
        (data[section] if section else data)[key] = value
    return lambda path: _edit_json(path, edit)


def _delitem(section, key):
    return lambda path: _edit_json(path, lambda data: data[section].pop(key))


HUGE = [1_000_000, 1_000_000]

# (id, file, damage, what the one-line error must say)
DAMAGED_RUNS = [
    ("weights-truncated", "model.safetensors", _truncate, "model.safetensors"),
    ("weights-dev-zero", "model.safetensors", _symlink_to_zero, "character device"),
    ("weights-not-safetensors", "model.safetensors", lambda p: p.write_text("hello world!"),
     "not a readable safetensors file"),
    ("huge-hidden-sizes", "metrics.json", _setitem("model", "hidden", HUGE),
     "0.weight is (8, 2) in the file, (1000000, 2) in"),
    ("hidden-not-ints", "metrics.json", _setitem("model", "hidden", ["8"]),
     "hidden sizes must be a positive integer, got '8'"),
    ("in-features-string", "metrics.json", _setitem("model", "in_features", "2"),
     "in_features must be a positive integer"),
    ("model-not-a-dict", "metrics.json", _setitem(None, "model", [1, 2]),
     "not an MLP description"),
    ("model-unknown-key", "metrics.json", _setitem("model", "kernel", 3),
     "not an MLP description"),
    ("model-missing-key", "metrics.json", _delitem("model", "classes"), "lacks a setting"),
    ("metrics-nested-deep", "metrics.json", _deep, "nested too deeply"),
    ("metrics-not-json", "metrics.json", lambda p: p.write_text("{oops"), "not valid JSON"),
    ("metrics-millions-of-values", "metrics.json",
     lambda p: p.write_text("[" + "[]," * 2_200_000 + "[]]"), "more than 2097152 JSON values"),
    ("metrics-dev-zero", "metrics.json", _symlink_to_zero, "is not a regular file"),
    ("metrics-latin1", "metrics.json", lambda p: p.write_bytes(b'{"a": "\xe9"}'),
     "not valid JSON"),
    ("metrics-a-list", "metrics.json", lambda p: p.write_text("[]"), "lacks the config"),
    ("config-hidden-string", "metrics.json", _setitem("config", "hidden", "abc"),
     "hidden is \"abc\", not a valid value"),
    ("config-lr-negative", "metrics.json", _setitem("config", "lr", -1),
     "lr: expected a number >= 0"),
    ("config-lr-string", "metrics.json", _setitem("config", "lr", "0.1"), "not a valid value"),
    ("config-epochs-float", "metrics.json", _setitem("config", "epochs", 2.5),
     "epochs is 2.5, not a valid value"),
    ("config-bool-as-int", "metrics.json", _setitem("config", "batch_norm", 1),
     "batch_norm is 1"),
    ("config-activation", "metrics.json", _setitem("config", "activation", "swish"),
     "activation is 'swish'; expected one of"),
    ("config-missing", "metrics.json", _delitem("config", "seed"), "lacks seed"),
    ("config-fraction", "metrics.json", _setitem("config", "val_fraction", 2),
     "val_fraction: expected a fraction"),
    ("preprocessing-strings", "metrics.json",
     _setitem("preprocessing", "mean", ["a", "b"]), "preprocessing.mean is not a list"),
    ("preprocessing-zero-std", "metrics.json", _setitem("preprocessing", "std", [0, 1]),
     "(all must be > 0)"),
]


@pytest.mark.parametrize("name,filename,damage,message", DAMAGED_RUNS,
                         ids=[row[0] for row in DAMAGED_RUNS])
def test_evaluate_refuses_a_damaged_run_before_building(tmp_path, capsys, monkeypatch,
                                                         trained_run, name, filename, damage,
                                                         message):
    import shutil
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    damage(run / filename)

    def never(*args, **kwargs):
        raise AssertionError("the model was built before the files were checked")
    monkeypatch.setattr(recipe, "build_mlp", never)
    err = _fails(capsys, "evaluate", str(run))
    assert message in err and str(run) in err, err


def test_evaluate_of_the_undamaged_run_still_works(capsys, trained_run):
    report = json.loads((trained_run / "metrics.json").read_text())
    assert _evaluate(capsys, trained_run) == report["test"]


DAMAGED_RESUMES = [
    ("checkpoint-truncated", "checkpoint.safetensors", _truncate, "checkpoint.safetensors"),
    ("checkpoint-dev-zero", "checkpoint.safetensors", _symlink_to_zero, "character device"),
    ("huge-hidden-sizes", "config.json", _setitem("config", "hidden", HUGE),
     "does not hold the model"),
    ("config-nested-deep", "config.json", _deep, "nested too deeply"),
    ("config-a-string", "config.json", lambda p: p.write_text('"config"'),
     "is not a run configuration"),
    ("config-epochs-string", "config.json", _setitem("config", "epochs", "2"),
     "epochs is \"2\", not a valid value"),
    ("config-samples-huge", "config.json", _setitem("config", "samples", 10**12),
     "samples: expected at most 10000000 points"),
    ("config-dropout-one", "config.json", _setitem("config", "dropout", 1.0),
     "--dropout must be below 1"),
]


@pytest.mark.parametrize("name,filename,damage,message", DAMAGED_RESUMES,
                         ids=[row[0] for row in DAMAGED_RESUMES])
def test_resume_refuses_a_damaged_run_before_building(tmp_path, capsys, monkeypatch,
                                                       trained_run, name, filename, damage,
                                                       message):
    import shutil
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    damage(run / filename)

    def never(*args, **kwargs):
        raise AssertionError("the model was built before the files were checked")
    monkeypatch.setattr(recipe, "build_mlp", never)
    err = _fails(capsys, "train", "--resume", str(run))
    assert message in err, err


def _csv_rows(n=120, labels=("big", "small")):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, 2))
    kind = np.where(X[:, 0] > 0, labels[0], labels[-1])
    return ["a,kind,b"] + [f"{x[0]:.4f},{k},{x[1]:.4f}" for x, k in zip(X, kind)]


BAD_CSVS = [
    ("single-class", lambda: ("\n".join(_csv_rows(labels=("only",))) + "\n").encode(),
     "have the same class ('only'); a classifier needs at least two"),
    ("field-over-128-KB", lambda: ("\n".join(_csv_rows()[:5]) + "\n1," + "x" * 200_000
                                   + ",2\n").encode(), "line 6: field larger than field limit"),
    ("latin-1", lambda: ("\n".join(_csv_rows()[:5] + ["1,caf\xe9,2"]) + "\n").encode("latin-1"),
     "line 6 is not UTF-8 text (byte 0xe9"),
    ("binary", lambda: b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)),
     "is a binary file"),
    ("nul-late", lambda: ("\n".join(_csv_rows()) + "\n").encode() + b"1,\0,2\n",
     "is a binary file"),
]


@pytest.mark.parametrize("name,content,message", BAD_CSVS, ids=[row[0] for row in BAD_CSVS])
def test_bad_csv_gets_one_line_naming_the_file(tmp_path, capsys, name, content, message):
    path = tmp_path / f"{name}.csv"
    path.write_bytes(content())
    err = _fails(capsys, "train", f"csv:{path}", "--label-column", "kind", "--out",
                 str(tmp_path / "out"))
    assert message in err and name in err, err
    assert not (tmp_path / "out").exists()


def test_excel_csv_utf8_with_a_byte_order_mark_trains(tmp_path, capsys):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + ("\r\n".join(_csv_rows()) + "\r\n").encode())
    out = tmp_path / "run"
    _train(capsys, f"csv:{path}", "--label-column", "kind", "--epochs", "3", "--hidden", "8",
           "--out", str(out))
    report = json.loads((out / "metrics.json").read_text())
    assert report["classes"] == ["big", "small"] and report["model"]["in_features"] == 2


def test_a_fifo_as_csv_is_refused(tmp_path, capsys):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    assert "pipe.csv is not a regular file" in _fails(capsys, "train", f"csv:{fifo}")


@pytest.mark.parametrize("config", [
    dict(in_features=64, hidden=[32], classes=10),
    dict(in_features=5, hidden=[8, 6], classes=3, batch_norm=True, dropout=0.2,
         activation="gelu"),
    dict(in_features=5, hidden=[], classes=3),
    dict(in_features=3, hidden=[4, 4, 4], classes=2, batch_norm=True),
])
def test_mlp_state_shapes_match_the_built_model(config):
    model = recipe.build_mlp(**config)
    assert recipe.mlp_state_shapes(**config) == {
        k: tuple(v.shape) for k, v in model.state_dict().items()}


def test_default_epochs_are_40_or_about_5000_steps_on_a_large_set(tmp_path, capsys):
    assert recipe.default_epochs(1258, 64) == 40                     # the digits
    assert recipe.default_epochs(51_000, 64) == 6                    # MNIST's training images
    assert recipe.default_epochs(10_000_000, 64) == 3                # at least 3
    out = tmp_path / "run"                                           # 70,000 points: 1,094 steps
    _train(capsys, "xor", "--samples", "100000", "--hidden", "8", "--patience", "0",
           "--batch-size", "64", "--out", str(out))
    report = json.loads((out / "metrics.json").read_text())
    assert report["config"]["epochs"] == 5 == report["epochs_run"]  # recorded as a number
    assert cli.main(["evaluate", str(out), "--json"]) == 0           # and read back as one
