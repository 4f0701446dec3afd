"""Which module call made which graph node, so a picture can draw one box per layer.

Run the forward pass inside ``trace_modules``; afterwards ``draw(..., group_modules=True)``
collapses each module call (a Linear, an activation, a loss) into one box:

    >>> model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    >>> criterion = nn.CrossEntropyLoss()
    >>> x, y = cr.randn(4, 2), cr.tensor([0, 2, 1, 0])
    >>> with cr.viz.trace_modules(model, criterion):
    ...     loss = criterion(model(x), y)
    >>> cr.viz.draw(loss, "mlp.svg", group_modules=True)
    'mlp.svg'

How: a forward pre-hook notes the call's input tensors; the forward hook walks back from the
outputs to those inputs and claims every node on the way that no earlier call claimed. The
innermost call that made a node gets it; a call whose children claimed nodes (a Sequential,
a model class) leaves its own few ops (say a functional ``relu``) drawn as primitive ops, so
the picture is a chain of the leaf modules. The modules given name the boxes ("0", "fc1");
modules called outside them (a loss function) are traced too and named by their class.
"""

from __future__ import annotations

import itertools
import weakref
from dataclasses import dataclass, field

from ..tensor import Tensor

# node -> ModuleCall, for every traced call: what group_modules=True reads.
_claims: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_clock = itertools.count()


@dataclass(eq=False)
class ModuleCall:
    """One call of one module: its name, class, and the order it started and ended in."""

    module: object
    name: str          # qualified name ("0", "encoder.fc1") or the class name
    type_name: str     # "Linear"
    start: int
    count: int = 1     # the module's n-th call inside the trace
    end: int = -1
    stop: set = field(default_factory=set)      # ids of the input tensors' nodes
    has_children: bool = False                  # a nested call claimed nodes

    @property
    def label(self) -> str:
        text = self.type_name if self.name in ("", self.type_name) else \
            f"{self.name}: {self.type_name}"
        return text if self.count == 1 else f"{text} #{self.count}"


class ModuleTrace:
    """The record of a ``trace_modules`` block: ``calls`` in call order, ``claims`` per node."""

    def __init__(self, roots):
        self.calls: list = []
        self.claims = weakref.WeakKeyDictionary()
        self._names = {}
        for root in roots:
            if not hasattr(root, "named_modules"):
                raise TypeError(f"trace_modules: expected Modules, got {type(root).__name__}")
            top = type(root).__name__
            for name, m in root.named_modules():
                self._names.setdefault(id(m), name or top)
        self._stack: list = []
        self._counts: dict = {}
        self._handles: list = []

    # --- the hooks --------------------------------------------------------------------------
    def _pre(self, module, args):
        type_name = type(module).__name__
        name = self._names.get(id(module), type_name)
        n = self._counts.get(id(module), 0) + 1
        self._counts[id(module)] = n
        call = ModuleCall(module, name, type_name, next(_clock), n)
        call.stop = {id(t.grad_fn) for t in _tensors(args) if t.grad_fn is not None}
        self._stack.append(call)

    def _post(self, module, args, output):
        while self._stack and self._stack[-1].module is not module:
            self._stack.pop()      # a forward that raised never reached its hook
        if not self._stack:
            return
        call = self._stack.pop()
        call.end = next(_clock)
        mine = self._made_inside(call, output)
        if self._stack and (mine or call.has_children):
            self._stack[-1].has_children = True
        if call.has_children:
            mine = []              # its children are the boxes; its own ops stay primitive
        for node in mine:
            self.claims[node] = call
            _claims[node] = call
        if mine:
            self.calls.append(call)

    def _made_inside(self, call, output) -> list:
        """Unclaimed nodes between the call's inputs and its outputs."""
        found, seen = [], set()
        stack = [t.grad_fn for t in _tensors(output) if t.grad_fn is not None]
        while stack:
            node = stack.pop()
            if id(node) in seen or id(node) in call.stop:
                continue
            seen.add(id(node))
            owner = self.claims.get(node)
            if owner is not None and owner.start < call.start:
                continue   # made by an earlier call: outside this one
            if owner is None:
                found.append(node)
            for a in node.args:
                if isinstance(a, Tensor) and a.grad_fn is not None:
                    stack.append(a.grad_fn)
        return found

    # --- the context manager -------------------------------------------------------------------
    def __enter__(self):
        from .. import nn  # noqa: PLC0415 - nn sits above viz's other parts

        self._handles = [nn.register_module_forward_pre_hook(self._pre),
                         nn.register_module_forward_hook(self._post)]
        return self

    def __exit__(self, *exc):
        for h in self._handles:
            h.remove()
        self._handles = []
        self._stack = []

    def call_of(self, node):
        return self.claims.get(node)


def trace_modules(*modules) -> ModuleTrace:
    """Record which module call makes which graph node, for ``group_modules=True``.

    ``modules`` (optional) name the boxes by their attribute path ("fc1", "0"); every
    module called inside the block is traced, named or not.

        >>> model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
        >>> criterion = nn.CrossEntropyLoss()
        >>> x, y = cr.randn(4, 2), cr.tensor([0, 2, 1, 0])
        >>> with cr.viz.trace_modules(model) as trace:
        ...     loss = criterion(model(x), y)
        >>> [c.label for c in trace.calls]
        ['0: Linear', '1: ReLU', '2: Linear', 'CrossEntropyLoss']
    """
    return ModuleTrace(modules)


def claims_of(group_modules):
    """The node -> ModuleCall map that ``group_modules`` asks for (True: every trace)."""
    if group_modules is True:
        return _claims
    if isinstance(group_modules, ModuleTrace):
        return group_modules.claims
    raise TypeError("group_modules: expected True or the result of cr.viz.trace_modules(...), "
                    f"got {type(group_modules).__name__}")


def _tensors(obj):
    """The Tensors in a module's args or output (nested tuples, lists and dicts)."""
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            yield from _tensors(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _tensors(o)
