"""``Module.summary()``: each layer's output shape and parameter count, and the totals.

The parameter column spells out where a count comes from (``weight 300x10000 + bias 300``),
so that a 10^4-input layer of 300 neurons visibly holds 3,000,300 numbers.

    >>> model = nn.Sequential(nn.Linear(10_000, 300), nn.ReLU(), nn.Linear(300, 10))
    >>> stats = model.summary(input_size=(32, 10_000))
    Sequential summary
    ===================================================================
    Layer  Type    Output shape     Params  Where the params come from
    -------------------------------------------------------------------
    0      Linear  (32, 300)     3,000,300  weight 300x10000 + bias 300
    1      ReLU    (32, 300)             0
    2      Linear  (32, 10)          3,010  weight 10x300 + bias 10
    ===================================================================
    Total params:         3,003,310
    Trainable params:     3,003,310
    Non-trainable params: 0
    Params size:          11.46 MiB (float32)
    >>> stats.total_params
    3003310
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np

from ..autograd import grad_mode
from ..tensor import Tensor


@dataclass
class LayerRow:
    name: str
    kind: str
    output_shape: str
    params: int
    detail: str


@dataclass
class ModelSummary:
    """The numbers ``summary()`` printed; ``str()`` gives the table again."""

    rows: list = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    table: str = ""

    def __str__(self):
        return self.table

    def __repr__(self):
        return (f"ModelSummary(total_params={self.total_params:,}, "
                f"trainable_params={self.trainable_params:,})")


def _shape_text(out):
    if isinstance(out, Tensor):
        return str(tuple(out.shape))
    if isinstance(out, (tuple, list)):
        return "[" + ", ".join(_shape_text(o) for o in out) + "]"
    return type(out).__name__


def _own_params(module):
    params = [(n, p) for n, p in module._parameters.items() if p is not None]
    count = sum(p.numel() for _, p in params)
    detail = " + ".join(f"{n} {'x'.join(str(s) for s in p.shape) or 'scalar'}" for n, p in params)
    return count, detail


def model_summary(model, inputs, input_size, dtype, file):
    shapes = {}
    if input_size is not None:
        sizes = input_size if isinstance(input_size[0], (tuple, list)) else [input_size]
        from ..creation import zeros  # noqa: PLC0415
        first = next(iter(model.parameters()), None)  # the inputs go where the model is
        device = None if first is None else first.device
        inputs = tuple(zeros(*s, dtype=dtype, device=device) for s in sizes)
    if inputs:
        handles = []
        for name, module in model.named_modules():
            def hook(mod, args, output, name=name):
                shapes.setdefault(name, _shape_text(output))
            handles.append(module.register_forward_hook(hook))
        was_training = model.training
        try:
            model.eval()  # a summary must not move BatchNorm's running statistics
            with grad_mode.no_grad():
                model(*inputs)
        finally:
            model.train(was_training)
            for h in handles:
                h.remove()

    rows = []
    seen = set()
    for name, module in model.named_modules():
        count, detail = _own_params(module)
        is_leaf = not any(True for _ in module.children())
        if not (is_leaf or count) or (name == "" and not is_leaf and not count):
            continue
        for p in module._parameters.values():
            if p is not None:
                seen.add(id(p))
        rows.append(LayerRow(name or "(root)", type(module).__name__, shapes.get(name, "-"),
                             count, detail))
    params = list(model.parameters())
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)

    head = ("Layer", "Type", "Output shape", "Params", "Where the params come from")
    body = [(r.name, r.kind, r.output_shape, f"{r.params:,}", r.detail) for r in rows]
    widths = [max(len(str(row[i])) for row in [head, *body]) for i in range(5)]
    width = sum(widths) + 2 * 4
    lines = [type(model).__name__ + " summary", "=" * width]
    fmt = "{:<%d}  {:<%d}  {:<%d}  {:>%d}  {:<%d}" % tuple(widths)
    lines.append(fmt.format(*head).rstrip())
    lines.append("-" * width)
    lines.extend(fmt.format(*row).rstrip() for row in body)
    lines.append("=" * width)
    nbytes = sum(p.numel() * p.dtype.itemsize for p in params)
    lines.append(f"Total params:         {total:,}")
    lines.append(f"Trainable params:     {trainable:,}")
    lines.append(f"Non-trainable params: {total - trainable:,}")
    lines.append(f"Params size:          {nbytes / 2**20:.2f} MiB "
                 f"({np.dtype(params[0].dtype).name if params else 'float32'})")
    table = "\n".join(lines)
    print(table, file=file or sys.stdout)
    return ModelSummary(rows, total, trainable, table)
