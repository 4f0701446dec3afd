"""Save optimizer (and scheduler) state mid-training, reload into fresh objects, continue:
the trajectory is the uninterrupted one, bit for bit. And state_dicts cross over to torch."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.optim import (ASGD, SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, NAdam, RAdam,
                             RMSprop, Rprop, lr_scheduler)
from test_optim_base import Pair, run_pair

OPTIMIZERS = {
    "SGD": (SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    "Adam": (Adam, dict(lr=0.01, amsgrad=True)),
    "AdamW": (AdamW, dict(lr=0.01, weight_decay=0.1)),
    "RMSprop": (RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
    "Adagrad": (Adagrad, dict(lr=0.1, lr_decay=0.01)),
    "Adadelta": (Adadelta, dict(lr=1.0, rho=0.8, weight_decay=1e-3)),
    "Adamax": (Adamax, dict(lr=0.01, betas=(0.8, 0.99))),
    "NAdam": (NAdam, dict(lr=0.01, weight_decay=0.01, decoupled_weight_decay=True)),
    "RAdam": (RAdam, dict(lr=0.01, weight_decay=0.01)),
    "Rprop": (Rprop, dict(lr=0.01, etas=(0.4, 1.3))),
    "ASGD": (ASGD, dict(lr=0.05, t0=3, lambd=1e-3)),
}
SCHEDULERS = {
    "none": None,
    "StepLR": lambda opt: lr_scheduler.StepLR(opt, step_size=4, gamma=0.5),
    "Cosine": lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=1e-3),
    "OneCycle": lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=20),
}


def _train(pair, opt, sched, steps):
    for _ in range(steps):
        opt.zero_grad()
        pair.cr_loss().backward()
        opt.step()
        if sched is not None:
            sched.step()


# OneCycleLR cycles momentum, which Adagrad, Adadelta, Rprop and ASGD do not have.
COMBINATIONS = [(o, s) for o in OPTIMIZERS for s in SCHEDULERS
                if not (o in ("Adagrad", "Adadelta", "Rprop", "ASGD") and s == "OneCycle")]


@pytest.mark.parametrize("opt_name, sched_name", COMBINATIONS)
def test_resume_from_a_checkpoint_continues_identically(tmp_path, opt_name, sched_name):
    cls, kwargs = OPTIMIZERS[opt_name]
    make_sched = SCHEDULERS[sched_name]

    straight = Pair()
    opt = cls(straight.cr_params, **kwargs)
    sched = make_sched(opt) if make_sched else None
    _train(straight, opt, sched, 20)

    first = Pair()
    opt1 = cls(first.cr_params, **kwargs)
    sched1 = make_sched(opt1) if make_sched else None
    _train(first, opt1, sched1, 10)
    ckpt = {"params": [p.detach() for p in first.cr_params], "optimizer": opt1.state_dict()}
    if sched1 is not None:
        ckpt["scheduler"] = sched1.state_dict()
    cr.save(ckpt, tmp_path / "ckpt.safetensors")
    _train(first, opt1, sched1, 3)  # training on after the save must not change the file

    loaded = cr.load(tmp_path / "ckpt.safetensors")
    second = Pair()
    for p, saved in zip(second.cr_params, loaded["params"]):
        p._array[...] = saved._array  # everything after step 10 comes from the file
    opt2 = cls(second.cr_params, **kwargs)
    sched2 = make_sched(opt2) if make_sched else None
    opt2.load_state_dict(loaded["optimizer"])  # after making the scheduler, as in PyTorch
    if sched2 is not None:
        sched2.load_state_dict(loaded["scheduler"])
    _train(second, opt2, sched2, 10)

    for p, q in zip(straight.cr_params, second.cr_params):
        np.testing.assert_array_equal(p._array, q._array)
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    if sched is not None:
        assert sched2.get_last_lr() == sched.get_last_lr()
        assert sched2.last_epoch == sched.last_epoch == 20


def test_state_dict_survives_a_json_like_round_trip_of_hyperparameters(tmp_path):
    """betas come back as a tuple even though JSON stores lists."""
    pair = Pair()
    opt = Adam(pair.cr_params, lr=0.01, betas=(0.8, 0.95))
    _train(pair, opt, None, 2)
    cr.save(opt.state_dict(), tmp_path / "opt.safetensors")
    fresh = Adam(pair.cr_params, lr=0.5)
    fresh.load_state_dict(cr.load(tmp_path / "opt.safetensors"))
    assert fresh.param_groups[0]["betas"] == (0.8, 0.95) and fresh.param_groups[0]["lr"] == 0.01
    assert float(fresh.state[pair.cr_params[0]]["step"]) == 2.0


@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
def test_torch_state_dict_loads_into_chainrule_and_continues_like_torch(opt_name):
    """A torch optimizer's state_dict (tensors as arrays) loads into ours: same layout."""
    cls, kwargs = OPTIMIZERS[opt_name]
    th_cls = getattr(torch.optim, opt_name)
    pair = Pair()
    topt = th_cls(pair.th_params, **kwargs)
    for _ in range(5):
        topt.zero_grad()
        pair.th_loss().backward()
        topt.step()
    for p, tp in zip(pair.cr_params, pair.th_params):
        p._array[...] = tp.detach().numpy()
    th_state = topt.state_dict()
    as_arrays = {"state": {i: {k: v.numpy() if isinstance(v, torch.Tensor) else v
                               for k, v in s.items()} for i, s in th_state["state"].items()},
                 "param_groups": th_state["param_groups"]}
    opt = cls(pair.cr_params, **kwargs)
    opt.load_state_dict(as_arrays)
    run_pair(lambda ps: opt, lambda ps: topt, steps=10, pair=pair)


@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
def test_chainrule_state_dict_loads_into_torch(opt_name):
    cls, kwargs = OPTIMIZERS[opt_name]
    th_cls = getattr(torch.optim, opt_name)
    pair = Pair()
    opt = cls(pair.cr_params, **kwargs)
    _train(pair, opt, None, 5)
    for p, tp in zip(pair.cr_params, pair.th_params):
        with torch.no_grad():
            tp.copy_(torch.from_numpy(p._array.copy()))
    ours = opt.state_dict()
    as_torch = {"state": {i: {k: torch.from_numpy(np.array(v._array)) if isinstance(v, cr.Tensor)
                              else v for k, v in s.items()} for i, s in ours["state"].items()},
                "param_groups": ours["param_groups"]}
    topt = th_cls(pair.th_params, **kwargs)
    topt.load_state_dict(as_torch)
    run_pair(lambda ps: opt, lambda ps: topt, steps=10, pair=pair)
