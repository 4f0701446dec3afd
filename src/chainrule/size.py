"""``cr.Size``: a tensor's shape, a tuple that prints and behaves like ``torch.Size``.

    >>> x = cr.zeros(2, 3)
    >>> x.shape
    chainrule.Size([2, 3])
    >>> x.shape == (2, 3), x.shape.numel(), x.shape[1:]
    (True, 6, chainrule.Size([3]))
"""

from __future__ import annotations


class Size(tuple):
    """A tuple of ints; slicing and ``+`` give a Size again, ``numel()`` is the product."""

    __slots__ = ()

    def __new__(cls, sizes=()):
        return tuple.__new__(cls, (int(n) for n in sizes))

    def numel(self) -> int:
        n = 1
        for d in self:
            n *= d
        return n

    def __getitem__(self, index):
        item = tuple.__getitem__(self, index)
        return tuple.__new__(Size, item) if type(index) is slice else item

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, n):
        return Size(tuple.__mul__(self, n))

    __rmul__ = __mul__

    def __repr__(self):
        return f"chainrule.Size([{', '.join(str(d) for d in self)}])"

    __str__ = __repr__

    def __reduce__(self):
        return (Size, (tuple(self),))
