"""The exceptions where Python's convention and torch's differ.

torch raises ``RuntimeError`` for arguments that do not fit (shapes that do not multiply or
broadcast, a value out of range, an index tensor of floats) where Python would say
``ValueError`` or ``TypeError``. chainrule's are both: ``except RuntimeError`` in code
written for torch catches them, and so does ``except ValueError`` / ``except TypeError``.

    >>> try:
    ...     cr.ones(2, 3) @ cr.ones(2, 3)
    ... except RuntimeError as e:
    ...     print(type(e).__name__, isinstance(e, ValueError))
    InvalidArgument True
"""

from __future__ import annotations


class InvalidArgument(ValueError, RuntimeError):
    """A value or shape that torch refuses with a RuntimeError (Python: a ValueError)."""


class InvalidIndex(IndexError, RuntimeError):
    """An index out of range where torch raises a RuntimeError (gather, index_select)."""


class InvalidType(TypeError, RuntimeError):
    """A dtype that torch refuses with a RuntimeError (Python: a TypeError)."""


class MissingMethod(TypeError, NotImplementedError):
    """A method a subclass must define (a Module's ``forward``): torch's NotImplementedError."""
