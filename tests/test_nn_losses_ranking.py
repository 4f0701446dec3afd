"""margin_ranking_loss, cosine_embedding_loss and triplet_margin_loss (and their modules)
against torch: values for every reduction and the gradients of every input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn

RNG = np.random.default_rng(3)
A, B, C = (RNG.standard_normal((5, 4)) for _ in range(3))
Y = np.array([1.0, -1.0, 1.0, -1.0, 1.0])

CASES = {
    "margin_ranking_loss": ([A[:, 0], B[:, 0]], Y, dict(margin=0.3)),
    "cosine_embedding_loss": ([A, B], Y, dict(margin=0.2)),
    "cosine_embedding_loss, one pair": ([A[0], B[0]], np.array(1.0), {}),
    "triplet_margin_loss": ([A, B, C], None, dict(margin=0.5)),
    "triplet_margin_loss, swap, p=1": ([A, B, C], None, dict(swap=True, p=1)),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_as_torch(case, reduction):
    inputs, target, kw = CASES[case]
    name = case.split(",")[0]
    cs = [cr.tensor(x, requires_grad=True) for x in inputs]
    ts = [torch.tensor(x, requires_grad=True) for x in inputs]
    extra_c = [] if target is None else [cr.tensor(target)]
    extra_t = [] if target is None else [torch.tensor(target)]
    loss = getattr(cr.nn.functional, name)(*cs, *extra_c, reduction=reduction, **kw)
    tloss = getattr(torch.nn.functional, name)(*ts, *extra_t, reduction=reduction, **kw)
    np.testing.assert_allclose(loss.detach().numpy(), tloss.detach().numpy(), rtol=1e-12)
    loss.sum().backward()
    tloss.sum().backward()
    for c, t in zip(cs, ts):
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_modules():
    a, b, c = (cr.tensor(x) for x in (A, B, C))
    ta, tb, tc = (torch.tensor(x) for x in (A, B, C))
    pairs = [
        (nn.MarginRankingLoss(0.5)(a[:, 0], b[:, 0], cr.tensor(Y)),
         torch.nn.MarginRankingLoss(0.5)(ta[:, 0], tb[:, 0], torch.tensor(Y))),
        (nn.CosineEmbeddingLoss(0.1, reduction="sum")(a, b, cr.tensor(Y)),
         torch.nn.CosineEmbeddingLoss(0.1, reduction="sum")(ta, tb, torch.tensor(Y))),
        (nn.TripletMarginLoss(margin=0.7, p=3)(a, b, c),
         torch.nn.TripletMarginLoss(margin=0.7, p=3)(ta, tb, tc)),
    ]
    for got, want in pairs:
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="^cosine_embedding_loss: inputs must be"):
        cr.nn.functional.cosine_embedding_loss(a, b[:, :2], cr.tensor(Y))
