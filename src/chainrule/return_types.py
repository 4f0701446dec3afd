"""The named tuples that ops return (``max(dim)``, ``sort``, ``topk``...), as torch's
``torch.return_types``: fields by name or position, printed the way torch prints them.

    >>> cr.tensor([[1.0, 5.0], [7.0, 2.0]]).max(1)
    chainrule.return_types.max(
    values=tensor([5., 7.]),
    indices=tensor([1, 0]))
"""

from __future__ import annotations

from collections import namedtuple


def _repr(self):
    fields = ",\n".join(f"{name}={value!r}" for name, value in zip(self._fields, self))
    return f"chainrule.return_types.{type(self).__name__}(\n{fields})"


def return_type(name, fields):
    """A named tuple class ``name`` with ``fields``, torch's repr, and this module's name."""
    base = namedtuple(name, fields)
    return type(name, (base,), {"__slots__": (), "__repr__": _repr,
                                "__module__": __name__, "__doc__": base.__doc__})


max = return_type("max", ["values", "indices"])  # noqa: A001 - torch's names
min = return_type("min", ["values", "indices"])  # noqa: A001
sort = return_type("sort", ["values", "indices"])
topk = return_type("topk", ["values", "indices"])
median = return_type("median", ["values", "indices"])
mode = return_type("mode", ["values", "indices"])
aminmax = return_type("aminmax", ["min", "max"])
histogram = return_type("histogram", ["hist", "bin_edges"])
