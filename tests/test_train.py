"""fit / evaluate / callbacks / checkpoints / resume / plots."""

import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset, datasets
from chainrule.train import (
    Callback, EarlyStopping, History, ModelCheckpoint, accuracy, evaluate, fit, load_state,
    load_weights, plot_decision_boundary, save_state,
)


def _loaders(make, n_train, n_val, seed=0, batch_size=32, **kwargs):
    X, y = make(n_train, seed=seed, **kwargs)
    Xv, yv = make(n_val, seed=seed + 100, **kwargs)
    gen = cr.Generator().manual_seed(seed)
    return (DataLoader(TensorDataset(X, y), batch_size, shuffle=True, generator=gen),
            DataLoader(TensorDataset(Xv, yv), 256))


def _mlp(hidden=16, act=nn.ReLU, classes=2, extras=()):
    return nn.Sequential(nn.Linear(2, hidden), act(), *extras, nn.Linear(hidden, hidden), act(),
                         nn.Linear(hidden, classes))


def test_fit_solves_xor():
    cr.manual_seed(0)
    train, val = _loaders(datasets.xor, 200, 200)
    model = _mlp(8, nn.Tanh)
    history = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.05), train,
                  val, epochs=20, progress=False)
    assert history["accuracy"][-1] == 1.0 and history["val_accuracy"][-1] == 1.0
    assert history["loss"][-1] < history["loss"][0]
    assert len(history) == 20 and history.epochs == list(range(20))


def test_fit_moons_reaches_97_percent():
    cr.manual_seed(1)
    train, val = _loaders(datasets.moons, 600, 400, noise=0.15)
    model = _mlp(32)
    history = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-2), train,
                  val, epochs=30, progress=False)
    assert history["val_accuracy"][-1] >= 0.97
    again = evaluate(model, val, nn.CrossEntropyLoss())
    assert again["accuracy"] == history["val_accuracy"][-1]
    assert again["loss"] == pytest.approx(history["val_loss"][-1], rel=1e-6)


class Probe(nn.Module):
    """Records, at every forward, the training flag and whether a graph is being built."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 2)
        self.seen = []

    def forward(self, x):
        self.seen.append((self.training, cr.is_grad_enabled()))
        return self.linear(x)


def test_train_eval_and_no_grad_are_switched():
    train, val = _loaders(datasets.moons, 64, 64, batch_size=32)
    model = Probe()
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), train, val,
        epochs=2, progress=False)
    # per epoch: 2 training batches, then 1 validation batch
    assert model.seen == [(True, True), (True, True), (False, False)] * 2
    model.train()
    evaluate(model, val)
    assert model.training  # evaluate puts the mode back
    model.eval()
    evaluate(model, val)
    assert not model.training


def test_evaluate_leaves_batchnorm_statistics_alone():
    _, val = _loaders(datasets.moons, 10, 100)
    model = _mlp(8, extras=(nn.BatchNorm1d(8),))
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    evaluate(model, val, nn.CrossEntropyLoss())
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])


class Run:
    """The few things EarlyStopping reads from a run."""

    def __init__(self, model):
        self.model, self.stop_training = model, False


def test_early_stopping_logic():
    model = nn.Linear(1, 1)
    stop = EarlyStopping("val_loss", patience=2, min_delta=0.1)
    run = Run(model)
    values = [1.0, 0.5, 0.45, 0.42, 0.3, 0.35, 0.3]
    for epoch, v in enumerate(values):
        model.weight._array[...] = epoch
        stop.on_epoch_end(epoch, {"val_loss": v}, run)
        if run.stop_training:
            break
    # 0.45 and 0.42 do not beat 0.5 by more than 0.1: stopped at epoch 3, best epoch 1
    assert epoch == 3 and stop.best_epoch == 1 and stop.best == 0.5
    stop.on_train_end(run)
    assert model.weight.item() == 1.0
    acc = EarlyStopping("val_accuracy", patience=1)
    acc.on_epoch_end(0, {"val_accuracy": 0.5}, run)
    assert acc.best == 0.5 and acc.tracker.mode == "max"
    with pytest.raises(KeyError, match="'val_accuracy' is not in the epoch's logs"):
        acc.on_epoch_end(1, {"loss": 1.0}, run)


def test_early_stopping_stops_and_restores_best_weights():
    cr.manual_seed(2)
    # A tiny noisy training set and a big net: validation loss falls, then rises.
    train, val = _loaders(datasets.moons, 24, 400, noise=0.35, batch_size=8)
    model = _mlp(64)
    snapshots = {}

    class Snapshot(Callback):
        def on_epoch_end(self, epoch, logs, run):
            snapshots[epoch] = {k: v.numpy().copy() for k, v in run.model.state_dict().items()}

    stop = EarlyStopping("val_loss", patience=5, restore_best=True)
    history = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.02), train,
                  val, epochs=200, callbacks=[Snapshot(), stop], progress=False)
    best = history.best_epoch("val_loss")
    assert len(history) < 200 and stop.stopped_epoch == len(history) - 1
    assert stop.best_epoch == best and len(history) == best + 5 + 1
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), snapshots[best][k])
    assert evaluate(model, val, nn.CrossEntropyLoss())["loss"] == \
        pytest.approx(history["val_loss"][best], rel=1e-6)


def test_model_checkpoint_saves_the_best(tmp_path):
    cr.manual_seed(3)
    train, val = _loaders(datasets.moons, 100, 100)
    model = _mlp(8)
    path = tmp_path / "best.safetensors"
    saver = ModelCheckpoint(path, monitor="val_accuracy")
    history = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01), train,
                  val, epochs=6, callbacks=[saver], progress=False)
    assert path.exists() and saver.tracker.best == max(history["val_accuracy"])
    clone = _mlp(8)
    load_weights(clone, path)
    assert evaluate(clone, val)["accuracy"] == max(history["val_accuracy"])
    assert [f for f in os.listdir(tmp_path) if f.startswith(".tmp")] == []
    # A flat state_dict file: PyTorch's safetensors reader takes it as is.
    from safetensors.numpy import load_file
    assert sorted(load_file(str(path))) == sorted(model.state_dict())


class Halving:
    """A minimal lr scheduler with state (stands in for optim.lr_scheduler in the plumbing)."""

    def __init__(self, optimizer):
        self.optimizer, self.count = optimizer, 0

    def step(self, *args):
        self.count += 1
        for group in self.optimizer.param_groups:
            group["lr"] *= 0.5

    def state_dict(self):
        return {"count": self.count}

    def load_state_dict(self, state):
        self.count = state["count"]


class PerBatch(Halving):
    steps_per = "batch"  # fit reads the class attribute, never the class name


class OnMetric(Halving):
    needs_metric = True

    def step(self, metric):
        self.seen = metric
        super().step()


@pytest.mark.parametrize("kind,expected", [(Halving, 3), (PerBatch, 3 * 4), (OnMetric, 3)])
def test_scheduler_stepped_per_epoch_or_batch(kind, expected):
    train, val = _loaders(datasets.moons, 128, 64)
    model = _mlp(4)
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = kind(opt)
    history = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=3, scheduler=sched,
                  progress=False)
    assert sched.count == expected
    if kind is Halving:
        assert history["lr"] == [0.1, 0.05, 0.025]
    if kind is OnMetric:
        assert sched.seen == history["val_loss"][-1]


def test_the_library_schedulers_say_how_fit_steps_them():
    opt = optim.SGD(_mlp(4).parameters(), lr=0.1, momentum=0.9)
    sched = optim.lr_scheduler
    assert sched.OneCycleLR(opt, max_lr=0.1, total_steps=10).steps_per == "batch"
    assert sched.CyclicLR(opt, base_lr=0.01, max_lr=0.1).steps_per == "batch"
    assert sched.StepLR(opt, step_size=2).steps_per == "epoch"
    assert sched.ReduceLROnPlateau(opt).needs_metric and not sched.StepLR.needs_metric
    # A warm-up then a cyclic schedule steps per batch as a whole.
    seq = sched.SequentialLR(opt, [sched.LinearLR(opt), sched.CyclicLR(opt, 0.01, 0.1)], [5])
    assert seq.steps_per == "batch"


class Kill(Exception):
    pass


def _resumable_setup(seed):
    """A run with every source of state: dropout, batch norm, momentum, shuffling, schedule."""
    cr.manual_seed(seed)
    X, y = datasets.spirals(240, seed=0)
    Xv, yv = datasets.spirals(120, seed=1)
    gen = cr.Generator().manual_seed(seed)
    train = DataLoader(TensorDataset(X, y), 32, shuffle=True, generator=gen)
    val = DataLoader(TensorDataset(Xv, yv), 64)
    model = nn.Sequential(nn.Linear(2, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.2),
                          nn.Linear(32, 3))
    opt = optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.01)
    return model, opt, Halving(opt), train, val


def test_kill_and_resume_equals_uninterrupted(tmp_path):
    epochs = 6
    model, opt, sched, train, val = _resumable_setup(seed=0)
    full = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=epochs, scheduler=sched,
               callbacks=[EarlyStopping(patience=100)], progress=False)
    expected = {k: v.numpy().copy() for k, v in model.state_dict().items()}

    class KillMidEpoch(Callback):
        def on_batch_end(self, batch, loss, run):
            if run.epoch == 2 and batch == 3:  # in the middle of the fourth epoch
                raise Kill

    path = tmp_path / "run.ckpt"
    model, opt, sched, train, val = _resumable_setup(seed=0)
    with pytest.raises(Kill):
        fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=epochs, scheduler=sched,
            callbacks=[EarlyStopping(patience=100), KillMidEpoch()], checkpoint=path,
            progress=False)
    assert load_state(path)["epoch"] == 2
    # A new process: fresh objects seeded differently; everything comes from the checkpoint.
    model, opt, sched, train, val = _resumable_setup(seed=123)
    resumed = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=epochs, scheduler=sched,
                  callbacks=[EarlyStopping(patience=100), Callback()], checkpoint=path,
                  resume_from=path, progress=False)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), expected[k], err_msg=k)
    assert resumed.epochs == full.epochs and sched.count == epochs
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        assert resumed[key] == full[key], key


def test_resuming_a_finished_early_stopped_run_changes_nothing(tmp_path):
    cr.manual_seed(2)
    train, val = _loaders(datasets.moons, 24, 200, noise=0.35, batch_size=8)
    model = _mlp(32)
    opt = optim.Adam(model.parameters(), lr=0.02)
    path = tmp_path / "c.ckpt"
    history = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=200,
                  callbacks=[EarlyStopping(patience=3)], checkpoint=path, progress=False)
    assert len(history) < 200
    best = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    fresh = _mlp(32)
    again = fit(fresh, nn.CrossEntropyLoss(), optim.Adam(fresh.parameters(), lr=0.02), train,
                val, epochs=200, callbacks=[EarlyStopping(patience=3)], resume_from=path,
                progress=False)
    assert again.to_dict() == history.to_dict()
    for k, v in fresh.state_dict().items():  # the best weights, restored again
        np.testing.assert_array_equal(v.numpy(), best[k])


def test_resume_checks_the_setup(tmp_path):
    model, opt, sched, train, val = _resumable_setup(seed=0)
    path = tmp_path / "c.ckpt"
    fit(model, nn.CrossEntropyLoss(), opt, train, epochs=1, scheduler=sched, checkpoint=path,
        progress=False)
    with pytest.raises(ValueError, match="with a scheduler, this run has none"):
        fit(model, nn.CrossEntropyLoss(), opt, train, epochs=2, resume_from=path,
            progress=False)
    with pytest.raises(ValueError, match=r"holds the state of callbacks \[\], this run has "
                                         r"\['EarlyStopping'\]"):
        fit(model, nn.CrossEntropyLoss(), opt, train, epochs=2, scheduler=sched,
            callbacks=[EarlyStopping("loss")], resume_from=path, progress=False)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        fit(model, nn.CrossEntropyLoss(), opt, train, resume_from=tmp_path / "nope")


def test_state_roundtrip_and_errors(tmp_path):
    state = {"w": cr.randn(2, 3), "step": cr.tensor(3.0), "np": np.arange(4), "s": np.float32(2),
             "opt": {0: {"m": np.ones(2)}, 1: {}}, "betas": (0.9, 0.999), "name": "x",
             "none": None, "inf": float("inf"), "rng": cr.Generator().manual_seed(1).get_state()}
    save_state(state, tmp_path / "s.ckpt")
    back = load_state(tmp_path / "s.ckpt")
    assert isinstance(back["w"], cr.Tensor) and back["step"].shape == ()
    np.testing.assert_array_equal(back["w"].numpy(), state["w"].numpy())
    assert back["np"].dtype == np.int64 and back["s"] == np.float32(2)
    assert list(back["opt"]) == [0, 1] and back["betas"] == (0.9, 0.999)
    assert back["rng"] == state["rng"] and back["inf"] == float("inf") and back["none"] is None
    (tmp_path / "bad").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        load_state(tmp_path / "bad")
    cr.save({"w": cr.zeros(2)}, tmp_path / "weights.safetensors")
    with pytest.raises(ValueError, match="not a chainrule training checkpoint"):
        load_state(tmp_path / "weights.safetensors")
    with pytest.raises(TypeError, match="cannot store a object"):
        save_state({"x": object()}, tmp_path / "o.ckpt")


def test_clip_grad_norm():
    train, _ = _loaders(datasets.moons, 64, 10, batch_size=16)
    model = _mlp(8)
    norms = []

    class GradNorm(Callback):  # the grads are still there after the step
        def on_batch_end(self, batch, loss, run):
            norms.append(np.sqrt(sum(float((p.grad.numpy() ** 2).sum())
                                     for p in run.model.parameters())))

    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), train, epochs=2,
        callbacks=[GradNorm()], clip_grad_norm=1e-3, progress=False)
    assert len(norms) == 8 and max(norms) <= 1e-3 * (1 + 1e-5) and min(norms) > 0.9e-3
    with pytest.raises(ValueError, match="clip_grad_norm must be > 0"):
        fit(model, nn.CrossEntropyLoss(), None, train, clip_grad_norm=0)


def test_nan_loss_raises():
    train, _ = _loaders(datasets.moons, 64, 10)
    model = _mlp(4)
    with pytest.raises(FloatingPointError, match="loss became nan at epoch 1"):
        fit(model, lambda out, y: (out * float("nan")).sum(),
            optim.SGD(model.parameters(), lr=0.1), train, epochs=1, progress=False)


def test_no_progress_output_when_not_a_terminal(capsys):
    train, _ = _loaders(datasets.moons, 64, 10)
    model = _mlp(4)
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), train, epochs=1,
        progress=True)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_accuracy_variants():
    assert accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1])) == 0.5
    assert accuracy(np.array([[0.1, 0.9]]), np.array([[0.0, 1.0]])) == 1.0  # one-hot
    assert accuracy(np.array([2.0, -1.0, 0.5]), np.array([1, 0, 0])) == 2 / 3  # one logit
    assert accuracy(np.array([[2.0], [-1.0]]), np.array([1, -1])) == 1.0  # labels in {-1, +1}
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        fit(_mlp(2), nn.CrossEntropyLoss(), None, [], metrics=("f1",))


def test_history_and_plots(tmp_path):
    history = History()
    history.append(0, {"loss": 1.0, "accuracy": 0.5, "val_loss": 1.2, "val_accuracy": 0.4})
    history.append(1, {"loss": 0.5, "accuracy": 0.8, "val_loss": 0.9, "val_accuracy": 0.7})
    history.append(2, {"loss": 0.3, "accuracy": 0.9, "val_loss": 1.0, "val_accuracy": 0.75})
    assert history.best_epoch("val_loss") == 1 and history.best_epoch("val_accuracy") == 2
    assert History.from_dict(history.to_dict()).to_dict() == history.to_dict()
    history.plot(tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    X, y = datasets.blobs(60, seed=0)
    plot_decision_boundary(_mlp(4, classes=3), X, y, tmp_path / "b.png", resolution=30)
    assert (tmp_path / "b.png").stat().st_size > 1000
    with pytest.raises(ValueError, match=r"shape \(n, 2\), got \(3, 3\)"):
        plot_decision_boundary(_mlp(4), np.zeros((3, 3)), np.zeros(3))
