"""The examples run (short settings) and show what they claim."""

import importlib.util
import pathlib

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def _run(name, *args):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(["--quick", *args])


def test_logistic_regression(tmp_path, capsys):
    result = _run("logistic_regression", "--plot", str(tmp_path / "b.png"))
    assert result["loss"] == pytest.approx(result["soft_margin_loss"], rel=1e-6)
    assert result["accuracy"] > 0.85 and (tmp_path / "b.png").exists()


def test_softmax_regression(capsys):
    assert _run("softmax_regression")["accuracy"] > 0.95


def test_triangle(capsys):
    result = _run("triangle")
    assert result["hand_set_accuracy"] >= 0.99  # only points within ~0.05 of an edge can miss
    assert result["learned_accuracy"] > 0.85


def test_numpy_twin_has_the_same_gradients(capsys):
    result = _run("numpy_vs_chainrule")
    assert result["max_grad_difference"] < 1e-12
    assert result["weight_drift"] < 1e-10
    assert result["loss_numpy"] == pytest.approx(result["loss_chainrule"], rel=1e-10)
    assert "max |difference|" in capsys.readouterr().out


def test_overfitting_cures(tmp_path, capsys):
    results = _run("overfitting", "--plot", str(tmp_path))
    plain, stopped = results["no regularization"], results["early stopping"]
    assert plain["train_accuracy"] >= 0.95
    assert stopped["epochs"] < plain["epochs"]
    assert stopped["val_loss"] == pytest.approx(stopped["min_val_loss"], rel=1e-6)  # best kept
    assert min(r["val_loss"] for name, r in results.items() if name != "no regularization") \
        < plain["val_loss"]
    assert len(list(tmp_path.glob("*.png"))) == 4


def test_char_lm_sequence_models_beat_the_mlp_and_match_torch(capsys):
    result = _run("char_lm")
    mlp, lstm, transformer = result["mlp"], result["lstm"], result["transformer"]
    assert lstm["val_loss"] < mlp["val_loss"] and transformer["val_loss"] < mlp["val_loss"]
    assert mlp["val_loss"] < 2.4  # far below the uniform guess, log 27 = 3.30
    assert all(len(s) > 0 and s.isalpha() for s in lstm["samples"] + transformer["samples"])
    twin = _run("char_lm", "--torch", "--models", "lstm", "--steps", "60")
    ours = _run("char_lm", "--models", "lstm", "--steps", "60")
    assert ours["lstm"]["val_loss"] == pytest.approx(twin["lstm"]["val_loss"], rel=0.02)


def test_sequence_classification_with_packed_lstm(capsys):
    result = _run("sequence_classification")
    assert result["test_accuracy"] >= 0.95
    assert result["bag_of_symbols_accuracy"] < 0.75  # order matters: counts alone fall short


def test_cnn_mnist1d_beats_mlp_and_logistic_regression(capsys):
    pytest.importorskip("mnist1d")
    results = _run("cnn_mnist1d")
    cnn, mlp = results["CNN (3 x Conv1d)"], results["MLP 40-100-100-10"]
    logistic = results["logistic regression"]
    assert cnn["test_accuracy"] >= 0.85  # 0.90-0.91 after the quick run's 1000 steps
    assert cnn["test_accuracy"] > mlp["test_accuracy"] > logistic["test_accuracy"]
    assert cnn["params"] < mlp["params"]
    assert "paper" in capsys.readouterr().out


def test_parameter_sharing_counts(capsys):
    result = _run("parameter_sharing")
    assert result["first_dense"] == 3_000_300 and result["first_conv"] == 416
    assert result["dense"] > 100 * result["cnn"]
    assert "Conv2d" in capsys.readouterr().out
