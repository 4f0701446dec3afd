"""What ``cr.compile`` watches while it captures a function: reads of tensor values (refused)
and the modules that ran (their train/eval mode and settings become guards).

A replay runs the captured steps again on new arrays; it never runs the Python around them.
So anything that turns a tensor's value into Python -- ``loss.item()``, ``float(t)``,
``if t > 0:``, ``print(t)`` -- would be frozen at its first value and silently wrong on every
later call. While capturing, ``Tensor`` asks ``grad_mode.state.capture`` (one attribute read,
None when nothing is captured) and ``refuse`` raises ``CaptureError`` naming the user's line:

    >>> @cr.compile
    ... def f(x):
    ...     if x.sum() > 0:        # the branch depends on the data
    ...         return x
    ...     return -x
    >>> f(cr.ones(3))
    Traceback (most recent call last):
    chainrule.static.capture.CaptureError: compile: f calls bool(tensor) ...

Random numbers drawn outside an op (``cr.randn`` inside the function) are refused too: a
replay would reuse them. Dropout draws its mask as an op (``DropoutMask``), anew each replay.
"""

from __future__ import annotations

import os
import sys

from ..autograd import grad_mode

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep

# What each refused call does, as a user would write it.
_SPELLED = {"item": ".item()", "tolist": ".tolist()", "numpy": ".numpy()",
            "__array__": "np.asarray(tensor)", "float": "float(tensor)", "int": "int(tensor)",
            "bool": "bool(tensor) (an `if`/`while` on a tensor, `and`/`or`, a comparison "
                    "used as a condition)",
            "index": "a tensor used as a Python index", "repr": "print/repr/str of a tensor",
            "format": "an f-string of a tensor", "register_hook": ".register_hook()",
            "retain_grad": ".retain_grad()",
            "inplace": "an in-place op on a tensor of the graph (y += 1, y[i] = v, y.relu_())",
            "set_data": "an assignment to .data", "set_grad": "an assignment of a tensor to .grad"}


class CaptureError(RuntimeError):
    """Something inside a function being compiled cannot be replayed without going stale."""


def user_frame():
    """``file:line: code`` of the innermost frame outside chainrule (the user's line)."""
    f = sys._getframe(1)
    while f is not None and f.f_code.co_filename.startswith(_PACKAGE):
        f = f.f_back
    if f is None:
        return "an unknown line"
    import linecache  # noqa: PLC0415 - only on the error path
    code = linecache.getline(f.f_code.co_filename, f.f_lineno).strip()
    return f"{f.f_code.co_filename}:{f.f_lineno}" + (f": `{code}`" if code else "")


class Capture:
    """The state of one capture: the function's name and the modules whose forward ran."""

    def __init__(self, name):
        self.name = name
        self.modules = {}   # id -> module, in the order they first ran
        self.made = {}      # id -> (tensor, its first values): tensors created inside

    def created(self, tensor):
        """``tensor`` was created inside the function (``cr.zeros``, ``cr.tensor``...): a
        replay makes it anew from these values, as each eager call does."""
        self.made[id(tensor)] = (tensor, tensor._array.copy())

    def refuse(self, tensor, what):
        """Raise ``CaptureError``: ``what`` (a key of ``_SPELLED``) reads a tensor's value."""
        if what in ("register_hook", "retain_grad"):
            why = ("a hook runs Python on the gradient, which a replay does not do; register "
                   "it outside the compiled function, or do not compile this step")
        elif what in ("set_data", "set_grad"):
            why = ("a replay would not redo it; update the array in place (p.data.copy_(v), "
                   "p.grad.copy_(g)) or do it outside the compiled function")
        elif what == "inplace":
            why = ("a replay cannot rewrite the graph's history; write it out of place "
                   "(y = y + 1, cr.where for an index put)")
        else:
            why = (f"a replay would reuse the value {_peek(tensor)} of this first call. Read "
                   "values outside the compiled function (return the tensor), or compute "
                   "with tensor ops (cr.where instead of an `if` on a tensor)")
        raise CaptureError(f"compile: {self.name} calls {_SPELLED.get(what, what)} at "
                           f"{user_frame()} while it is being captured; {why}")

    def refuse_draw(self):
        raise CaptureError(
            f"compile: {self.name} draws random numbers outside an op at {user_frame()} "
            "while it is being captured; a replay would reuse the same numbers. Pass the "
            "noise in as an argument, or use an op that draws (F.dropout)")

    def saw_module(self, module, args):
        self.modules.setdefault(id(module), module)


def _peek(tensor):
    arr = tensor._array
    if arr.size == 1:
        return repr(arr.reshape(()).item())
    return f"of a {tuple(arr.shape)} tensor"


def _module_pre_hook(module, args):
    capture = grad_mode.state.capture
    if capture is not None:
        capture.saw_module(module, args)


def capturing(capture):
    """Context: ``capture`` is this thread's capture; modules report to it as they run."""
    return _Capturing(capture)


class _Capturing:
    def __init__(self, capture):
        self.capture = capture

    def __enter__(self):
        from ..nn.module import register_module_forward_pre_hook  # noqa: PLC0415
        _watch_random_draws()
        state = grad_mode.state
        self.prev, state.capture = state.capture, self.capture
        self.handle = register_module_forward_pre_hook(_module_pre_hook)
        return self.capture

    def __exit__(self, *exc):
        grad_mode.state.capture = self.prev
        self.handle.remove()
        return False


def _watch_random_draws():
    """Route ``backend.rng_of`` (every random draw goes through it) through a check that,
    only while capturing, refuses a draw made outside an op's forward."""
    from .. import backend  # noqa: PLC0415
    if getattr(backend.rng_of, "_watched", False):
        return
    original = backend.rng_of

    def rng_of(generator):
        capture = grad_mode.state.capture
        if capture is not None and not _inside_op():
            capture.refuse_draw()
        return original(generator)
    rng_of._watched = True
    backend.rng_of = rng_of


def _inside_op():
    """Whether an ``Op.forward`` is running in this thread (called while capturing only)."""
    from ..autograd.function import Op  # noqa: PLC0415
    f = sys._getframe(2)
    while f is not None:
        if f.f_code.co_name == "forward" and isinstance(f.f_locals.get("self"), Op):
            return True
        f = f.f_back
    return False
