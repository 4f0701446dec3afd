"""nn.Module mechanics: registration, iteration, modes, hooks, state_dict, repr, summary."""

import io

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn


class MLP(nn.Module):
    def __init__(self, d_in=4, d_hidden=8, d_out=3):
        super().__init__()
        self.fc1 = nn.Linear(d_in, d_hidden)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(d_hidden, d_out)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class TorchMLP(torch.nn.Module):
    def __init__(self, d_in=4, d_hidden=8, d_out=3):
        super().__init__()
        self.fc1 = torch.nn.Linear(d_in, d_hidden)
        self.act = torch.nn.ReLU()
        self.fc2 = torch.nn.Linear(d_hidden, d_out)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def test_parameter_is_a_tensor_that_requires_grad():
    p = nn.Parameter(cr.zeros(2, 3))
    assert isinstance(p, cr.Tensor) and p.requires_grad and p.is_leaf
    y = (p * 2).sum()
    assert type(y) is cr.Tensor
    y.backward()
    np.testing.assert_array_equal(p.grad.numpy(), np.full((2, 3), 2.0, np.float32))
    assert repr(p).startswith("Parameter containing:")
    with pytest.raises(RuntimeError, match="floating"):
        nn.Parameter(cr.tensor([1, 2]))
    # Parameter shares the tensor's array, like PyTorch
    t = cr.ones(3)
    assert nn.Parameter(t)._array is t._array


def test_registration_and_iteration_orders_match_torch():
    m, tm = MLP(), TorchMLP()
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert [n for n, _ in m.named_modules()] == [n for n, _ in tm.named_modules()]
    assert [type(c).__name__ for c in m.children()] == ["Linear", "ReLU", "Linear"]
    assert len(list(m.parameters())) == 4
    m.register_buffer("steps", cr.zeros(1))
    m.register_buffer("scratch", cr.zeros(1), persistent=False)
    assert [n for n, _ in m.named_buffers()] == ["steps", "scratch"]
    assert "scratch" not in m.state_dict() and "steps" in m.state_dict()
    # reassigning a parameter slot to None keeps the key registered
    m.fc1.bias = None
    assert [n for n, _ in m.named_parameters()] == ["fc1.weight", "fc2.weight", "fc2.bias"]
    with pytest.raises(TypeError, match="parameter 'weight'"):
        m.fc1.weight = cr.zeros(8, 4)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        m.nope  # noqa: B018
    del m.act
    assert "act" not in dict(m.named_children())


def test_shared_parameter_listed_once():
    lin = nn.Linear(3, 3)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_assign_before_init_is_explained():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(cr.zeros(1))

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Bad()


def test_train_eval_zero_grad_requires_grad_apply():
    m = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    assert all(x.training for x in m.modules())
    assert m.eval() is m and not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())
    m(cr.randn(4, 2)).sum().backward()
    m.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    seen = []
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
    assert seen == ["Linear", "Dropout", "Sequential"]  # children first, as PyTorch


def test_to_dtype_keeps_parameter_objects():
    m = MLP()
    w = m.fc1.weight
    m.to(cr.float64)
    assert m.fc1.weight is w and w.dtype == np.float64
    out = m(cr.randn(2, 4, dtype=cr.float64))
    assert out.dtype == np.float64
    bn = nn.BatchNorm1d(3).double()
    assert bn.running_mean.dtype == np.float64 and bn.num_batches_tracked.dtype == np.int64
    with pytest.raises(TypeError, match="floating"):
        m.to(cr.int64)


def test_forward_hooks_and_pre_hooks():
    m = MLP()
    calls = []
    h1 = m.fc1.register_forward_pre_hook(lambda mod, args: calls.append(("pre", args[0].shape)))
    h2 = m.fc1.register_forward_hook(lambda mod, args, out: calls.append(("post", out.shape)))
    h3 = m.fc2.register_forward_hook(lambda mod, args, out: out * 0)  # replaces the output
    y = m(cr.randn(5, 4))
    assert calls == [("pre", (5, 4)), ("post", (5, 8))]
    assert not y.detach().numpy().any()
    # a pre-hook may replace the arguments
    h4 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    for h in (h1, h2, h3):
        h.remove()
    y = m(cr.randn(5, 4))
    expected = m.fc2(m.fc1(cr.zeros(5, 4)).relu())
    np.testing.assert_allclose(y.detach().numpy(), expected.detach().numpy())
    assert len(calls) == 2
    h4.remove()


def test_global_forward_hook_sees_every_module_call():
    m = MLP()
    names = {id(mod): n for n, mod in m.named_modules()}
    seen = []
    handle = nn.register_module_forward_hook(lambda mod, a, o: seen.append(names.get(id(mod))))
    try:
        m(cr.randn(1, 4))
    finally:
        handle.remove()
    assert seen == ["fc1", "act", "fc2", ""]
    m(cr.randn(1, 4))
    assert len(seen) == 4


def test_state_dict_round_trip_with_torch_both_ways():
    torch.manual_seed(0)
    tm, m = TorchMLP(), MLP()
    m.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    np.testing.assert_allclose(m(cr.tensor(x)).detach().numpy(),
                               tm(torch.tensor(x)).detach().numpy(), rtol=1e-6, atol=1e-6)
    m2, tm2 = MLP(), TorchMLP()
    tm2.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in m2.state_dict().items()})
    np.testing.assert_allclose(m2(cr.tensor(x)).detach().numpy(),
                               tm2(torch.tensor(x)).detach().numpy(), rtol=1e-6, atol=1e-6)


def test_load_state_dict_reports_problems_by_name_and_changes_nothing():
    m = MLP()
    before = m.fc1.weight.numpy().copy() if not m.fc1.weight.requires_grad else \
        m.fc1.weight.detach().numpy().copy()
    sd = {k: v.numpy() + 1 for k, v in m.state_dict().items()}
    sd["fc2.weight"] = np.zeros((4, 4), np.float32)
    del sd["fc2.bias"]
    sd["extra"] = np.zeros(1)
    with pytest.raises(RuntimeError) as info:
        m.load_state_dict(sd)
    msg = str(info.value)
    assert "fc2.bias" in msg and "extra" in msg and "size mismatch for fc2.weight" in msg
    assert "(4, 4)" in msg and "(3, 8)" in msg
    np.testing.assert_array_equal(m.fc1.weight.detach().numpy(), before)
    sd["fc2.weight"] = np.zeros((3, 8), np.float32)
    result = m.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["fc2.bias"] and result.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(m.fc1.weight.detach().numpy(), before + 1)


def test_state_dict_shares_memory_and_detaches():
    m = nn.Linear(2, 2)
    sd = m.state_dict()
    assert not sd["weight"].requires_grad and sd["weight"]._array is m.weight._array


def test_repr_matches_torch():
    m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.2), nn.BatchNorm1d(8),
                      nn.LayerNorm(8), nn.Linear(8, 3, bias=False), nn.LogSoftmax(dim=1))
    tm = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                             torch.nn.BatchNorm1d(8), torch.nn.LayerNorm(8),
                             torch.nn.Linear(8, 3, bias=False), torch.nn.LogSoftmax(dim=1))
    assert repr(m) == repr(tm)
    assert repr(MLP()) == repr(TorchMLP()).replace("TorchMLP", "MLP")
    assert repr(nn.Embedding(10, 3, padding_idx=0)) == \
        repr(torch.nn.Embedding(10, 3, padding_idx=0))
    assert repr(nn.Flatten()) == repr(torch.nn.Flatten())


def test_summary_makes_big_counts_obvious():
    model = nn.Sequential(nn.Linear(10_000, 300), nn.ReLU(), nn.Linear(300, 10))
    out = io.StringIO()
    stats = model.summary(input_size=(2, 10_000), file=out)
    text = out.getvalue()
    assert stats.total_params == 10_000 * 300 + 300 + 300 * 10 + 10
    assert stats.total_params == sum(p.numel() for p in model.parameters())
    assert "3,000,300" in text and "weight 300x10000 + bias 300" in text
    assert "(2, 300)" in text and "(2, 10)" in text
    assert f"{stats.total_params:,}" in text
    assert [r.params for r in stats.rows] == [3_000_300, 0, 3_010]
    # without an input the shapes are unknown but the counts are there
    stats2 = model.summary(file=io.StringIO())
    assert stats2.total_params == stats.total_params


def test_summary_does_not_move_batchnorm_stats():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    model.summary(cr.randn(8, 3), file=io.StringIO())
    assert model.training and int(model[1].num_batches_tracked.item()) == 0
    assert not model[1].running_mean.numpy().any()


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert isinstance(seq[-1], nn.Linear) and len(seq[1:]) == 2
    assert list(seq[1:].state_dict()) == ["2.weight", "2.bias"]  # keys kept, as PyTorch
    from collections import OrderedDict
    named = nn.Sequential(OrderedDict([("hidden", nn.Linear(2, 3)), ("out", nn.Linear(3, 1))]))
    assert list(named.state_dict()) == ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.Linear(2, 1))
    assert len(ml) == 4 and len(list(ml.parameters())) == 8
    assert list(ml.state_dict())[-1] == "3.bias"
    md = nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.ReLU()})
    assert list(md.keys()) == ["a", "b"] and "a" in md
    assert list(md.state_dict()) == ["a.weight", "a.bias"]
    assert nn.Identity(54, unused="x")(cr.ones(2)).shape == (2,)
    assert nn.Flatten()(cr.zeros(2, 1, 3, 3)).shape == (2, 9)
    assert nn.Unflatten(1, (1, 3, 3))(cr.zeros(2, 9)).shape == (2, 1, 3, 3)
    with pytest.raises(IndexError, match="out of range"):
        seq[5]


def test_modulelist_repr_compresses_repeats_like_torch():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU(), nn.Linear(2, 1)])
    tml = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)]
                              + [torch.nn.ReLU(), torch.nn.Linear(2, 1)])
    assert repr(ml) == repr(tml)
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList())


def test_load_state_dict_assign_takes_the_arrays():
    m = nn.Linear(2, 2)
    w = np.ones((2, 2), np.float64)
    m.load_state_dict({"weight": w, "bias": np.zeros(2, np.float64)}, assign=True)
    assert m.weight._array is w and isinstance(m.weight, nn.Parameter)


def test_deepcopy_gives_an_independent_model():
    import copy
    m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    m2 = copy.deepcopy(m)
    assert isinstance(m2[0].weight, nn.Parameter) and m2[0].weight._array is not m[0].weight._array
    m2(cr.randn(4, 3)).sum().backward()
    assert m2[0].weight.grad is not None and m[0].weight.grad is None
    assert list(m2.state_dict()) == list(m.state_dict())


def test_hooks_with_kwargs():
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    m = Scale()
    seen = []
    h1 = m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"factor": 3.0}),
                                     with_kwargs=True)
    h2 = m.register_forward_hook(lambda mod, args, kwargs, out: seen.append(kwargs),
                                 with_kwargs=True)
    assert m(cr.ones(2), factor=2.0).numpy().tolist() == [3.0, 3.0]
    assert seen == [{"factor": 3.0}]
    h1.remove()
    h2.remove()
    assert m(cr.ones(2), factor=2.0).numpy().tolist() == [2.0, 2.0] and len(seen) == 1
    assert not m._forward_hooks_with_kwargs and not m._forward_pre_hooks_with_kwargs
    with m.register_forward_pre_hook(lambda mod, a, k: "bad", with_kwargs=True):
        with pytest.raises(RuntimeError, match="return None or \\(args, kwargs\\)"):
            m(cr.ones(2))
    assert not m._forward_pre_hooks


def test_summary_of_nested_modules_uses_dotted_names():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(4, 4), nn.Tanh())
            self.scale = nn.Parameter(cr.ones(4))

        def forward(self, x):
            return self.body(x) * self.scale

    model = nn.Sequential(Block(), nn.Linear(4, 2))
    out = io.StringIO()
    stats = model.summary(cr.zeros(3, 4), file=out)
    names = [r.name for r in stats.rows]
    assert names == ["0", "0.body.0", "0.body.1", "1"]
    assert [r.params for r in stats.rows] == [4, 20, 0, 10]
    assert stats.total_params == 34 and "scale 4" in out.getvalue()
    model[1].weight.requires_grad_(False)
    assert model.summary(file=io.StringIO()).trainable_params == 34 - 8


def test_always_call_hooks_run_when_forward_raises():
    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    m = Boom()
    seen = []
    h1 = m.register_forward_hook(lambda mod, a, out: seen.append(("local", out)), always_call=True)
    h2 = nn.register_module_forward_hook(lambda mod, a, out: seen.append(("global", out)),
                                         always_call=True)
    h3 = m.register_forward_hook(lambda mod, a, out: seen.append("not always"))
    try:
        with pytest.raises(ValueError, match="boom"):
            m(cr.ones(1))
    finally:
        for h in (h1, h2, h3):
            h.remove()
    assert seen == [("global", None), ("local", None)]
    from chainrule.nn import module as module_mod
    assert not module_mod._always_called


def test_forgetting_super_init_is_explained():
    class NoInit(nn.Module):
        def __init__(self):
            self.width = 3

        def forward(self, x):
            return x

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        NoInit()(cr.ones(1))


def test_buffer_assignment_registers_like_torch():
    m = nn.Module()
    m.stats = nn.Buffer(cr.zeros(3))
    m.scratch = nn.Buffer(cr.ones(2), persistent=False)
    assert [n for n, _ in m.named_buffers()] == ["stats", "scratch"]
    assert list(m.state_dict()) == ["stats"]
    assert type(m.stats) is cr.Tensor
    m.stats = cr.ones(3)  # a plain Tensor assigned to a buffer's name replaces the buffer
    assert m.state_dict()["stats"].numpy().tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(TypeError, match="buffer 'stats'"):
        m.stats = [1, 2, 3]
    tm = torch.nn.Module()
    tm.stats = torch.nn.Buffer(torch.zeros(3))
    tm.scratch = torch.nn.Buffer(torch.ones(2), persistent=False)
    assert list(tm.state_dict()) == list(m.state_dict())
