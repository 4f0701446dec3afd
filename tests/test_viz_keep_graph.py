"""What ``explain`` narrates from a ``keep_graph()`` backward record (found by the doctests).

A leaf reached along two paths of one node (``w * w``): the record must show each path's own
gradient, [1, 2] twice for w = [1, 2], summed to w.grad = [2, 4]. The sink makes the first
path's array ``w.grad`` and accumulates the second into it in place, so the walker hands the
observer copies (it once narrated [2, 4] + [1, 2] = [3, 6]).
"""

import numpy as np

import chainrule as cr


def _sums(loss):
    return [s for s in cr.viz.explain(loss, return_steps=True)
            if isinstance(s, cr.viz.GradientSum)]


def test_explain_before_backward_sums_the_paths():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    (total,) = _sums(loss)
    np.testing.assert_array_equal(total.total, [2.0, 4.0])


def test_explain_after_keep_graph_backward_sums_the_paths():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    with cr.viz.keep_graph():
        loss.backward()
    np.testing.assert_array_equal(w.grad._array, [2.0, 4.0])
    (total,) = _sums(loss)
    for part in total.parts:
        np.testing.assert_array_equal(part, [1.0, 2.0])
    np.testing.assert_array_equal(total.total, w.grad._array)
