"""SparseAdam's name, for programs written for PyTorch: chainrule has no sparse gradients.

    >>> emb = nn.Embedding(10, 3)
    >>> opt = cr.optim.SparseAdam(emb.parameters())     # accepted, as in PyTorch
    >>> emb(cr.tensor([1, 2])).sum().backward()
    >>> opt.step()
    Traceback (most recent call last):
    RuntimeError: SparseAdam does not support dense gradients, please consider Adam instead: ...
"""

from __future__ import annotations

from .optimizer import Optimizer, check_betas


class SparseAdam(Optimizer):
    """``torch.optim.SparseAdam``'s arguments and checks; its step refuses, as torch's does
    for a dense gradient, because every chainrule gradient is dense.

    PyTorch's SparseAdam updates only the rows that a sparse gradient holds (from
    ``nn.Embedding(sparse=True)``): the moments of the other rows are left alone. chainrule
    has no sparse tensors, so there is no faithful way to run it; use :class:`Adam` (or
    :class:`AdamW`) instead, which updates every row, decaying the moments of rows that got
    no gradient.

        >>> emb = nn.Embedding(10, 3)
        >>> opt = cr.optim.Adam(emb.parameters(), lr=1e-3)   # instead of SparseAdam
        >>> emb(cr.tensor([1, 2])).sum().backward(); opt.step()
        >>> sorted(opt.state[emb.weight])                    # dense moments, every row
        ['exp_avg', 'exp_avg_sq', 'step']
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        betas = check_betas(betas)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, maximize=maximize))

    def step(self, closure=None):
        """Evaluate ``closure``; refuse to update a parameter that has a (dense) gradient."""
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    raise RuntimeError(
                        "SparseAdam does not support dense gradients, please consider Adam "
                        "instead: chainrule has no sparse gradients (every .grad is dense, "
                        f"this one has shape {tuple(p.grad.shape)}); optim.Adam or "
                        "optim.AdamW updates them")
        return loss
