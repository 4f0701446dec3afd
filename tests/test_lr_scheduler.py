"""Learning-rate schedules: the sequence over 100 steps equals torch's, number for number."""

import math
import warnings

import numpy as np
import pytest
import torch
import torch.optim.lr_scheduler as th_sched

import chainrule as cr
from chainrule.optim import lr_scheduler


def _optimizers(groups=1, cls="SGD", lr=0.1):
    """The same optimizer in both libraries, with ``groups`` param groups (lr, 2 lr, ...)."""
    cr_groups = [{"params": [cr.zeros(2, requires_grad=True)], "lr": lr * (i + 1)}
                 for i in range(groups)]
    th_groups = [{"params": [torch.zeros(2, requires_grad=True)], "lr": lr * (i + 1)}
                 for i in range(groups)]
    kwargs = dict(momentum=0.9) if cls == "SGD" else {}
    return (getattr(cr.optim, cls)(cr_groups, lr=lr, **kwargs),
            getattr(torch.optim, cls)(th_groups, lr=lr, **kwargs))


CASES = {
    "StepLR": (dict(step_size=7, gamma=0.5), 2),
    "StepLR-default-gamma": (dict(step_size=30), 1),
    "MultiStepLR": (dict(milestones=[10, 30, 30, 60], gamma=0.3), 2),
    "ExponentialLR": (dict(gamma=0.95), 2),
    "CosineAnnealingLR": (dict(T_max=30, eta_min=1e-3), 2),  # 100 steps: past T_max, twice
    "CosineAnnealingLR-no-floor": (dict(T_max=100), 1),
    "LinearLR": (dict(start_factor=0.2, end_factor=0.9, total_iters=17), 2),
    "LinearLR-default": ({}, 1),
    "LinearLR-decay": (dict(start_factor=1.0, end_factor=0.1, total_iters=50), 1),
    "OneCycleLR": (dict(max_lr=1.0, total_steps=101), 2),
    "OneCycleLR-linear-3phase": (dict(max_lr=[0.5, 1.0], total_steps=101, three_phase=True,
                                      anneal_strategy="linear", div_factor=10.0), 2),
    "OneCycleLR-epochs": (dict(max_lr=0.3, epochs=10, steps_per_epoch=11, pct_start=0.25,
                               cycle_momentum=False), 1),
    "LambdaLR": (dict(lr_lambda=lambda e: 0.9 ** e + 1 / (e + 1)), 2),
    "LambdaLR-per-group": (dict(lr_lambda=[lambda e: 1 / (1 + e), lambda e: 0.5 ** (e // 10)]),
                           2),
    "MultiplicativeLR": (dict(lr_lambda=lambda e: 0.97 if e % 3 else 1.01), 2),
    "MultiplicativeLR-per-group": (dict(lr_lambda=[lambda e: 0.99, lambda e: 1 - 1 / (e + 9)]),
                                   2),
    "ConstantLR": (dict(factor=0.25, total_iters=13), 2),
    "ConstantLR-default": ({}, 1),
    "PolynomialLR": (dict(total_iters=60, power=2.0), 2),
    "PolynomialLR-default": ({}, 1),
    "PolynomialLR-sqrt": (dict(total_iters=37, power=0.5), 1),
    "CyclicLR": (dict(base_lr=0.01, max_lr=0.1, step_size_up=7), 2),
    "CyclicLR-triangular2-asym": (dict(base_lr=[0.01, 0.02], max_lr=[0.1, 0.3], step_size_up=6,
                                       step_size_down=9, mode="triangular2",
                                       base_momentum=0.7, max_momentum=0.95), 2),
    "CyclicLR-exp_range": (dict(base_lr=0.001, max_lr=0.05, step_size_up=10, mode="exp_range",
                                gamma=0.98), 2),
    "CyclicLR-no-momentum": (dict(base_lr=0.01, max_lr=0.1, step_size_up=4, step_size_down=1,
                                  cycle_momentum=False), 1),
    "CyclicLR-scale_fn": (dict(base_lr=0.01, max_lr=0.1, step_size_up=5,
                               scale_fn=lambda x: 1 / (1 + 0.1 * x), scale_mode="iterations"), 1),
    "CosineAnnealingWarmRestarts": (dict(T_0=10, eta_min=1e-3), 2),
    "CosineAnnealingWarmRestarts-mult": (dict(T_0=3, T_mult=2, eta_min=0.01), 2),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("opt_cls", ["SGD", "Adam"])
def test_sequence_over_100_steps_equals_torch(case, opt_cls):
    kwargs, groups = CASES[case]
    name = case.split("-")[0]
    opt, topt = _optimizers(groups, opt_cls)
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    tsched = getattr(th_sched, name)(topt, **kwargs)
    ours, theirs = [sched.get_last_lr()], [tsched.get_last_lr()]
    momenta, th_momenta = [], []
    key = "momentum" if opt_cls == "SGD" else "betas"
    for _ in range(100):
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        ours.append(sched.get_last_lr())
        theirs.append(tsched.get_last_lr())
        momenta.append([g[key] for g in opt.param_groups])
        th_momenta.append([g[key] for g in topt.param_groups])
    assert ours == theirs  # exactly: the same float arithmetic in the same order
    assert momenta == th_momenta  # OneCycleLR cycles momentum / beta1 as well
    assert [g["lr"] for g in opt.param_groups] == ours[-1]


@pytest.mark.parametrize("name, kwargs", [
    ("StepLR", dict(step_size=7, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[10, 30, 30], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.95)),
    ("CosineAnnealingLR", dict(T_max=30, eta_min=1e-3)),
    ("LinearLR", dict(start_factor=0.2, total_iters=17)),
    ("ConstantLR", dict(factor=0.5, total_iters=11)),
    ("PolynomialLR", dict(total_iters=50, power=1.5)),
])
def test_step_with_epoch_uses_the_closed_form_like_torch(name, kwargs):
    opt, topt = _optimizers()
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    tsched = getattr(th_sched, name)(topt, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in [3, 10, 11, 40, 25, 64]:
            sched.step(epoch)
            tsched.step(epoch)
            assert sched.get_last_lr() == tsched.get_last_lr()
    with pytest.warns(UserWarning, match="deprecated"):
        sched.step(5)


@pytest.mark.parametrize("kwargs", [
    dict(mode="min", factor=0.5, patience=2, cooldown=1),
    dict(mode="max", factor=0.3, patience=3, threshold_mode="abs", threshold=0.01),
    dict(mode="min", threshold_mode="abs", patience=0, min_lr=[0.01, 0.05]),
    dict(mode="max", patience=1, eps=0.05),
])
def test_reduce_on_plateau_equals_torch(kwargs):
    opt, topt = _optimizers(groups=2)
    sched = lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    tsched = th_sched.ReduceLROnPlateau(topt, **kwargs)
    rng = np.random.default_rng(10)
    ours, theirs = [], []
    for step in range(100):
        metric = 1 / (step + 1) + 0.1 * rng.random()
        if kwargs["mode"] == "max":
            metric = -metric
        sched.step(metric)
        tsched.step(metric)
        ours.append(sched.get_last_lr())
        theirs.append(tsched.get_last_lr())
    assert ours == theirs
    assert ours[-1] != ours[0]  # it did reduce


def test_reduce_on_plateau_state_dict_round_trip(tmp_path):
    opt, _ = _optimizers()
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=1)
    for metric in [1.0, 0.9, 0.95, 0.97]:
        sched.step(metric)
    cr.save(sched.state_dict(), tmp_path / "s.safetensors")
    fresh = lr_scheduler.ReduceLROnPlateau(opt)
    fresh.load_state_dict(cr.load(tmp_path / "s.safetensors"))
    assert (fresh.best, fresh.num_bad_epochs, fresh.patience) == (0.9, 0, 1)
    assert fresh.mode_worse == math.inf


@pytest.mark.parametrize("name, kwargs", [
    ("StepLR", dict(step_size=7, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[10, 30, 30, 45], gamma=0.3)),
    ("CosineAnnealingLR", dict(T_max=30, eta_min=1e-3)),
    ("LinearLR", dict(start_factor=0.2, total_iters=37)),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=60, three_phase=True)),
    ("ConstantLR", dict(factor=0.5, total_iters=30)),
    ("PolynomialLR", dict(total_iters=40, power=2.0)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4, step_size_down=7,
                      mode="triangular2")),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=8, mode="exp_range", gamma=0.9)),
    ("CosineAnnealingWarmRestarts", dict(T_0=4, T_mult=2, eta_min=1e-3)),
])
def test_state_dict_resume_continues_the_sequence(tmp_path, name, kwargs):
    opt, _ = _optimizers()
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    straight = []
    for _ in range(60):
        opt.step()
        sched.step()
        straight.append(sched.get_last_lr())

    opt1, _ = _optimizers()
    sched1 = getattr(lr_scheduler, name)(opt1, **kwargs)
    for _ in range(25):
        opt1.step()
        sched1.step()
    cr.save({"opt": opt1.state_dict(), "sched": sched1.state_dict()}, tmp_path / "s.safetensors")
    ckpt = cr.load(tmp_path / "s.safetensors")
    opt2, _ = _optimizers()
    sched2 = getattr(lr_scheduler, name)(opt2, **kwargs)
    opt2.load_state_dict(ckpt["opt"])
    sched2.load_state_dict(ckpt["sched"])
    resumed = []
    for _ in range(35):
        opt2.step()
        sched2.step()
        resumed.append(sched2.get_last_lr())
    assert resumed == straight[25:]


class _Warmup:
    """A callable object: its attributes are saved by LambdaLR.state_dict (like torch)."""

    def __init__(self, steps):
        self.steps = steps

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.steps)


def test_lambda_lr_state_dict_skips_functions_and_keeps_callable_objects():
    opt, topt = _optimizers(groups=2)
    sched = lr_scheduler.LambdaLR(opt, [lambda e: 0.5, _Warmup(10)])
    tsched = th_sched.LambdaLR(topt, [lambda e: 0.5, _Warmup(10)])
    state, th_state = sched.state_dict(), tsched.state_dict()
    assert state["lr_lambdas"] == th_state["lr_lambdas"] == [None, {"steps": 10}]
    assert "optimizer" not in state
    warm = _Warmup(3)
    other = lr_scheduler.LambdaLR(opt, [lambda e: 1.0, warm])
    other.load_state_dict(state)
    assert warm.steps == 10 and other.last_epoch == sched.last_epoch


def test_scheduler_sets_initial_lr_and_resumes_with_last_epoch():
    opt, topt = _optimizers()
    lr_scheduler.StepLR(opt, step_size=5)
    th_sched.StepLR(topt, step_size=5)
    assert opt.param_groups[0]["initial_lr"] == topt.param_groups[0]["initial_lr"] == 0.1
    fresh, _ = _optimizers()
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(fresh, step_size=5, last_epoch=3)
    # Resuming from an epoch: CosineAnnealingLR's first step uses the closed form there.
    opt.param_groups[0]["lr"] = 0.05
    topt.param_groups[0]["lr"] = 0.05
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=20, last_epoch=7)
    tsched = th_sched.CosineAnnealingLR(topt, T_max=20, last_epoch=7)
    for _ in range(30):
        assert sched.get_last_lr() == tsched.get_last_lr()
        opt.step()
        topt.step()
        sched.step()
        tsched.step()


def test_stepping_the_scheduler_before_the_optimizer_warns_like_torch():
    opt, topt = _optimizers()
    sched, tsched = lr_scheduler.StepLR(opt, 3), th_sched.StepLR(topt, 3)
    with pytest.warns(UserWarning, match="before `optimizer.step"):
        tsched.step()
    with pytest.warns(UserWarning, match=r"before optimizer.step\(\)"):
        sched.step()


@pytest.mark.parametrize("make, error, message", [
    (lambda o: lr_scheduler.LinearLR(o, start_factor=0), ValueError, "start_factor"),
    (lambda o: lr_scheduler.LinearLR(o, end_factor=1.5), ValueError, "end_factor"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1), ValueError, "total_steps"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=0), ValueError,
     "positive integer total_steps"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1.5),
     ValueError, "pct_start"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="exp"),
     ValueError, "anneal_strategy"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=[0.1, 0.2], total_steps=10), ValueError,
     "same length"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), ValueError, "factor"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="low"), ValueError, "mode"),
    (lambda o: lr_scheduler.LambdaLR(o, [lambda e: 1, lambda e: 2]), ValueError, "lr_lambdas"),
    (lambda o: lr_scheduler.StepLR(object(), step_size=3), TypeError, "not an Optimizer"),
])
def test_bad_arguments_are_refused(make, error, message):
    opt, _ = _optimizers()
    with pytest.raises(error, match=message):
        make(opt)


def test_one_cycle_refuses_to_step_past_the_end():
    opt, _ = _optimizers()
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=5)
    for _ in range(5):
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="total steps is 5"):
        sched.step()


def test_one_cycle_needs_momentum_to_cycle():
    w = cr.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="momentum"):
        lr_scheduler.OneCycleLR(cr.optim.Adagrad([w]), max_lr=0.1, total_steps=10)
    sched = lr_scheduler.OneCycleLR(cr.optim.Adagrad([w]), max_lr=0.1, total_steps=10,
                                    cycle_momentum=False)
    assert sched.get_last_lr() == [pytest.approx(0.004)]


# --- the schedulers of schedulers, and the rest of the newer ones ---------------------------

def _composites(lib, opt, kind):
    """The same SequentialLR / ChainedScheduler in chainrule (lib=lr_scheduler) or torch."""
    if kind == "sequential":
        return lib.SequentialLR(opt, [lib.LinearLR(opt, start_factor=0.1, total_iters=5),
                                      lib.CosineAnnealingLR(opt, T_max=40, eta_min=1e-3)],
                                milestones=[5])
    if kind == "sequential3":
        return lib.SequentialLR(opt, [lib.ConstantLR(opt, factor=0.5, total_iters=3),
                                      lib.ExponentialLR(opt, gamma=0.9),
                                      lib.CosineAnnealingWarmRestarts(opt, T_0=7)],
                                milestones=[10, 30])
    if kind == "chained":
        return lib.ChainedScheduler([lib.ConstantLR(opt, factor=0.1, total_iters=4),
                                     lib.ExponentialLR(opt, gamma=0.95),
                                     lib.StepLR(opt, step_size=9, gamma=0.5)])
    # A sequence inside a chain.
    return lib.ChainedScheduler([
        lib.SequentialLR(opt, [lib.LinearLR(opt, start_factor=0.5, total_iters=4),
                               lib.ExponentialLR(opt, gamma=0.97)], milestones=[6]),
        lib.StepLR(opt, step_size=5)])


COMPOSITES = ["sequential", "sequential3", "chained", "nested"]


@pytest.mark.parametrize("kind", COMPOSITES)
@pytest.mark.parametrize("opt_cls", ["SGD", "Adam"])
def test_composite_sequences_over_100_steps_equal_torch(kind, opt_cls):
    opt, topt = _optimizers(2, opt_cls)
    sched, tsched = _composites(lr_scheduler, opt, kind), _composites(th_sched, topt, kind)
    ours, theirs = [sched.get_last_lr()], [tsched.get_last_lr()]
    for _ in range(100):
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        ours.append(sched.get_last_lr())
        theirs.append(tsched.get_last_lr())
    assert ours == theirs
    assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in topt.param_groups]
    assert len(set(map(tuple, ours))) > 10  # the schedule really moved


@pytest.mark.parametrize("kind", COMPOSITES)
def test_composite_state_dict_resume_continues_the_sequence(tmp_path, kind):
    opt, _ = _optimizers(2)
    sched = _composites(lr_scheduler, opt, kind)
    straight = []
    for _ in range(50):
        opt.step()
        sched.step()
        straight.append(sched.get_last_lr())
    opt1, _ = _optimizers(2)
    sched1 = _composites(lr_scheduler, opt1, kind)
    for _ in range(17):
        opt1.step()
        sched1.step()
    state = sched1.state_dict()
    assert "optimizer" not in state and len(state["_schedulers"]) >= 2
    cr.save({"opt": opt1.state_dict(), "sched": state}, tmp_path / "s.safetensors")
    ckpt = cr.load(tmp_path / "s.safetensors")
    opt2, _ = _optimizers(2)
    sched2 = _composites(lr_scheduler, opt2, kind)
    opt2.load_state_dict(ckpt["opt"])
    sched2.load_state_dict(ckpt["sched"])
    resumed = []
    for _ in range(33):
        opt2.step()
        sched2.step()
        resumed.append(sched2.get_last_lr())
    assert resumed == straight[17:]


@pytest.mark.parametrize("kwargs", [dict(T_0=5), dict(T_0=3, T_mult=2, eta_min=0.01),
                                    dict(T_0=2, T_mult=3)])
def test_warm_restarts_with_fractional_epochs_equal_torch(kwargs):
    """SGDR's documented use: ``step(epoch + i / iters)`` inside each epoch."""
    opt, topt = _optimizers(2)
    sched = lr_scheduler.CosineAnnealingWarmRestarts(opt, **kwargs)
    tsched = th_sched.CosineAnnealingWarmRestarts(topt, **kwargs)
    iters = 7
    for epoch in range(30):
        for i in range(iters):
            opt.step()
            topt.step()
            sched.step(epoch + i / iters)
            tsched.step(epoch + i / iters)
            assert sched.get_last_lr() == tsched.get_last_lr()
            assert (sched.T_i, sched.T_cur, sched.last_epoch) == (tsched.T_i, tsched.T_cur,
                                                                   tsched.last_epoch)
    for epoch in [100, 3, 0, 47]:  # jumps, back and forth
        sched.step(epoch)
        tsched.step(epoch)
        assert sched.get_last_lr() == tsched.get_last_lr()


class _Scale:
    """A callable object: CyclicLR.state_dict keeps its attributes (a lambda is dropped)."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, x):
        return 1 / (1 + self.rate * x)


def test_cyclic_state_dict_drops_functions_and_keeps_callable_objects():
    opt, topt = _optimizers()
    sched = lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=3, scale_fn=_Scale(0.5))
    tsched = th_sched.CyclicLR(topt, 0.01, 0.1, step_size_up=3, scale_fn=_Scale(0.5))
    assert sched.state_dict()["_scale_fn_custom"] == tsched.state_dict()["_scale_fn_custom"] \
        == {"rate": 0.5}
    plain = lr_scheduler.CyclicLR(opt, 0.01, 0.1, scale_fn=lambda x: 1.0)
    assert plain.state_dict()["_scale_fn_custom"] is None
    for _ in range(5):
        opt.step()
        sched.step()
    other_fn = _Scale(3.0)
    other = lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=3, scale_fn=other_fn)
    other.load_state_dict(sched.state_dict())
    assert other_fn.rate == 0.5 and other.last_epoch == sched.last_epoch == 5
    # The built-in modes choose what the scale reads, also after a reload.
    exp = lr_scheduler.CyclicLR(opt, 0.01, 0.1, mode="exp_range", gamma=0.9)
    state = exp.state_dict()
    assert state["scale_mode"] == "iterations"
    exp.load_state_dict(state)
    assert exp.scale_mode == "iterations"


def test_cyclic_sets_the_base_lr_and_max_momentum_at_construction_like_torch():
    opt, topt = _optimizers(2)
    lr_scheduler.CyclicLR(opt, base_lr=[0.01, 0.02], max_lr=0.5, max_momentum=0.93)
    th_sched.CyclicLR(topt, base_lr=[0.01, 0.02], max_lr=0.5, max_momentum=0.93)
    for key in ("lr", "initial_lr", "momentum", "max_momentum", "base_momentum"):
        assert [g[key] for g in opt.param_groups] == [g[key] for g in topt.param_groups], key


@pytest.mark.parametrize("make, error, message", [
    (lambda o: lr_scheduler.ConstantLR(o, factor=1.5), ValueError, "factor"),
    (lambda o: lr_scheduler.ConstantLR(o, factor=-0.1), ValueError, "factor"),
    (lambda o: lr_scheduler.CyclicLR(o, 0.01, 0.1, mode="sine"), ValueError, "mode"),
    (lambda o: lr_scheduler.CyclicLR(o, [0.01, 0.02], 0.1), ValueError, "same length"),
    (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "T_0"),
    (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2.5), ValueError, "T_0"),
    (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=0), ValueError,
     "T_mult"),
    (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=5, eta_min="0"), ValueError,
     "eta_min"),
    (lambda o: lr_scheduler.SequentialLR(o, [], milestones=[]), ValueError, "at least one"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2)], milestones=[3]),
     ValueError, "milestone"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.ReduceLROnPlateau(o)], []),
     ValueError, "ReduceLROnPlateau"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2),
                                             lr_scheduler.ChainedScheduler(
                                                 [lr_scheduler.StepLR(o, 3)])], [4]),
     ValueError, "cannot restart"),
    (lambda o: lr_scheduler.ChainedScheduler([]), ValueError, "at least one"),
    (lambda o: lr_scheduler.ChainedScheduler([lr_scheduler.StepLR(o, 2), object()]),
     TypeError, "index 1"),
    (lambda o: lr_scheduler.ChainedScheduler(
        [lr_scheduler.StepLR(o, 2), lr_scheduler.StepLR(_optimizers()[0], 2)]),
     ValueError, "same optimizer"),
])
def test_bad_arguments_of_the_newer_schedulers_are_refused(make, error, message):
    opt, _ = _optimizers()
    with pytest.raises(error, match=message):
        make(opt)


def test_torch_refuses_the_same_scheduler_arguments():
    _, topt = _optimizers()
    for make in [lambda: th_sched.ConstantLR(topt, factor=1.5),
                 lambda: th_sched.CyclicLR(topt, 0.01, 0.1, mode="sine"),
                 lambda: th_sched.CosineAnnealingWarmRestarts(topt, T_0=0),
                 lambda: th_sched.SequentialLR(topt, [th_sched.StepLR(topt, 2)], milestones=[3]),
                 lambda: th_sched.ChainedScheduler([])]:
        with pytest.raises(ValueError):
            make()


def test_cyclic_needs_momentum_to_cycle():
    w = cr.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="momentum"):
        lr_scheduler.CyclicLR(cr.optim.Adagrad([w]), 0.01, 0.1)
    sched = lr_scheduler.CyclicLR(cr.optim.Adagrad([w]), 0.01, 0.1, cycle_momentum=False)
    assert sched.get_last_lr() == [0.01]


def test_the_module_has_torchs_public_names():
    assert sorted(lr_scheduler.__all__) == sorted(th_sched.__all__)
    assert all(hasattr(lr_scheduler, name) for name in lr_scheduler.__all__)
    assert issubclass(lr_scheduler._LRScheduler, lr_scheduler.LRScheduler)  # older programs


def test_multiplicative_state_dict_keeps_callable_objects_like_torch():
    opt, topt = _optimizers(groups=2)
    sched = lr_scheduler.MultiplicativeLR(opt, [lambda e: 0.5, _Warmup(10)])
    tsched = th_sched.MultiplicativeLR(topt, [lambda e: 0.5, _Warmup(10)])
    assert sched.state_dict()["lr_lambdas"] == tsched.state_dict()["lr_lambdas"]
