"""In-place ops whose input shares memory with the tensor they write, refused as torch refuses
them (``t[1:].add_(t[:-1])``: the result would depend on the order of the writes) and run
as torch runs them where it does (the same elements, disjoint parts, strided slices)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr


def _lib_tensor(lib, n):
    return torch.arange(float(n)) if lib is torch else cr.arange(n).float()


CASES = {
    "add_ shifted": lambda L, t: t[1:].add_(t[:-1]),
    "add_ alpha shifted (axpy size)": lambda L, t: t[1:].add_(t[:-1], alpha=2.0),
    "sub_ alpha shifted": lambda L, t: t[1:].sub_(t[:-1], alpha=0.5),
    "mul_ shifted": lambda L, t: t[1:].mul_(t[:-1]),
    "div_ overlapping halves": lambda L, t: t[:8].div_(t[4:12]),
    "+= shifted": lambda L, t: t[1:].__iadd__(t[:-1]),
    "transposed onto itself": lambda L, t: t[:16].view(4, 4).t().add_(t[:16].view(4, 4)),
    "copy_ shifted": lambda L, t: t[1:].copy_(t[:-1]),
    "setitem shifted": lambda L, t: t.__setitem__(slice(1, None), t[:-1]),
    "setitem through an index": lambda L, t: t.__setitem__(L.tensor([1, 2]), t[:2]),
    "add_ of a detached alias": lambda L, t: t[1:].add_(t.detach()[:-1]),
    "add_ of one of its elements": lambda L, t: t.add_(t[3]),
    # allowed by torch: the same elements, disjoint parts, strided (non-dense) slices
    "add_ itself": lambda L, t: t.add_(t),
    "add_ an equal view": lambda L, t: t[:].add_(t[:], alpha=3.0),
    "copy_ itself": lambda L, t: t.copy_(t),
    "setitem disjoint halves": lambda L, t: t.__setitem__(slice(0, 4), t[4:8]),
    "setitem all of itself": lambda L, t: t.__setitem__(slice(None), t),
    "mul_ interleaved slices": lambda L, t: t[::2].mul_(t[1::2]),
    "add_ overlapping columns": lambda L, t: t[:12].view(3, 4)[:, :3].add_(t[:12].view(3, 4)[:, 1:]),
    "sub_ a flip": lambda L, t: t.sub_(t.flip(0)),
    "fill_ from an element": lambda L, t: t.fill_(t[3]),
}


def _outcome(lib, case, n):
    t = _lib_tensor(lib, n)
    try:
        case(lib, t)
    except RuntimeError as exc:
        return "refused", str(exc)
    return "ran", np.asarray(t.tolist())


@pytest.mark.parametrize("n", [24, 40_000])  # 40,000: add_scaled's BLAS path
@pytest.mark.parametrize("name", sorted(CASES))
def test_as_torch(name, n):
    got, want = _outcome(cr, CASES[name], n), _outcome(torch, CASES[name], n)
    assert got[0] == want[0], f"chainrule {got}, torch {want}"
    if got[0] == "ran":
        np.testing.assert_allclose(got[1], want[1], rtol=1e-6)
    else:
        assert "share part of their memory" in got[1] and "clone()" in got[1]


def test_refused_in_the_graph_too():
    base = cr.arange(6).float().requires_grad_()
    z = base * 1
    with pytest.raises(RuntimeError, match=r"^add_: the input \(shape \(5,\)\)"):
        z[1:].add_(z[:-1])


@pytest.mark.parametrize("op", ["add_", "sub_", "mul_", "div_"])
def test_an_op_on_itself_in_the_graph_as_torch(op):
    # t.add_(t): the sum reads t's previous value twice; a product saves t, which then
    # changed, so its backward fails in both
    results = []
    for lib in (cr, torch):
        base = _lib_tensor(lib, 6).requires_grad_()
        z = (base + 1) * 1
        try:
            getattr(z, op)(z)
            (z * _lib_tensor(lib, 6)).sum().backward()
            results.append((z.detach().numpy().tolist(), base.grad.numpy().tolist()))
        except RuntimeError:
            results.append("refused")
    assert results[0] == results[1]


def test_an_element_is_a_view_as_in_torch():
    # t[i] (and m[i, j]) is a 0-d view of the tensor's memory, as torch's: writing into it
    # writes into the tensor, in and out of the graph
    for lib in (cr, torch):
        t = _lib_tensor(lib, 4)
        t[1].fill_(9)
        m = lib.zeros(2, 2)
        m[0, 1].add_(3)
        assert t.tolist() == [0.0, 9.0, 2.0, 3.0] and m.tolist() == [[0.0, 3.0], [0.0, 0.0]]
    results = []
    for lib in (cr, torch):
        base = _lib_tensor(lib, 4).requires_grad_()
        z = base * 1
        z[1].mul_(5)
        (z * lib.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
        results.append((z.tolist(), base.grad.tolist()))
    assert results[0] == results[1] == ([0.0, 5.0, 2.0, 3.0], [1.0, 10.0, 3.0, 4.0])
