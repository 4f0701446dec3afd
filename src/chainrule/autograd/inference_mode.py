"""``inference_mode``: no graph, for evaluation; a context, a decorator, or a bare decorator.

    >>> model = nn.Linear(3, 2)
    >>> with cr.inference_mode():
    ...     y = model(cr.ones(1, 3))
    ...     cr.is_inference_mode_enabled()
    True
    >>> y.requires_grad                # nothing recorded
    False
    >>> @cr.inference_mode
    ... def predict(x):
    ...     return model(x)
    >>> predict(cr.ones(1, 3)).grad_fn is None
    True

Built on ``no_grad``: chainrule has no separate inference tensors, so tensors made inside
can later be used in autograd (torch would refuse); everything else reads as torch.
"""

from __future__ import annotations

import functools
import threading

from . import grad_mode

_state = threading.local()


def is_inference_mode_enabled() -> bool:
    return getattr(_state, "enabled", False)


class inference_mode:  # noqa: N801 - torch's name
    """``inference_mode(mode=True)``: inside, record no graph (``mode=False``: record it)."""

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):  # used bare: @inference_mode
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode=True):
        self.mode = bool(mode)
        self._saved = []

    def __enter__(self):
        # as torch's InferenceMode guard: grad mode is the opposite of the inference flag
        grad = grad_mode.no_grad() if self.mode else grad_mode.enable_grad()
        self._saved.append((is_inference_mode_enabled(), grad))
        _state.enabled = self.mode
        grad.__enter__()
        return self

    def __exit__(self, *exc):
        previous, grad = self._saved.pop()
        grad.__exit__(*exc)
        _state.enabled = previous
        return False

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)
        return wrapper

    def clone(self):
        return inference_mode(self.mode)
