"""fit(compile=True) and `chainrule train --compile`: the same History and weights as eager."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import cli, nn
from chainrule.data import DataLoader, TensorDataset
from chainrule.train import fit


def _fit(compiled, clip=None, scheduler="onecycle"):
    cr.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((150, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    model = nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2),
                          nn.Linear(16, 3))
    opt = cr.optim.AdamW(model.parameters(), lr=1e-2)
    loader = DataLoader(TensorDataset(cr.tensor(X), cr.tensor(y)), batch_size=32, shuffle=True,
                        generator=cr.Generator().manual_seed(1))   # 150 = 4 x 32 + 22
    val = DataLoader(TensorDataset(cr.tensor(X[:50]), cr.tensor(y[:50])), batch_size=50)
    sched = (cr.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=4 * 5)
             if scheduler == "onecycle" else cr.optim.lr_scheduler.StepLR(opt, 2, 0.5))
    history = fit(model, nn.CrossEntropyLoss(), opt, loader, val, epochs=4, scheduler=sched,
                  progress=False, clip_grad_norm=clip, compile=compiled)
    weights = [p.detach().numpy().copy() for p in model.parameters()]
    return history, weights


@pytest.mark.parametrize("clip, scheduler", [(None, "onecycle"), (0.5, "step")])
def test_fit_compiled_gives_the_eager_history_and_weights(clip, scheduler):
    eager, ew = _fit(False, clip, scheduler)
    compiled, cw = _fit(True, clip, scheduler)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        assert compiled[key] == eager[key], key
    for a, b in zip(cw, ew):
        np.testing.assert_array_equal(a, b)


def test_train_help_names_compile(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    assert "--compile" in capsys.readouterr().out


def test_chainrule_train_compile_gives_the_same_run(tmp_path, capsys):
    args = ["moons", "--samples", "300", "--hidden", "16,16", "--epochs", "3",
            "--batch-size", "32", "--patience", "0", "--quiet"]
    reports = []
    for extra, name in (([], "eager"), (["--compile"], "compiled")):
        assert cli.main(["train", *args, *extra, "--out", str(tmp_path / name)]) == 0
        reports.append(json.loads((tmp_path / name / "metrics.json").read_text()))
    capsys.readouterr()
    eager, compiled = reports
    assert compiled["history"]["loss"] == eager["history"]["loss"]
    assert compiled["test"] == eager["test"]
