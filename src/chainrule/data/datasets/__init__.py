"""Datasets: the lectures' toy problems, scikit-learn's digits, MNIST from IDX files, CSV.

    >>> from chainrule.data import datasets
    >>> X, y = datasets.spirals(300, classes=3, seed=0)
"""

from .digits import digits  # noqa: F401
from .mnist import FASHION_CLASSES, fashion_mnist, mnist, read_idx  # noqa: F401
from .tabular import load_csv  # noqa: F401
from .toy import (  # noqa: F401
    TOY, TRIANGLE_VERTICES, blobs, circles, moons, spirals, triangle, triangle_halfplanes,
    two_clouds, xor,
)

from types import ModuleType as _ModuleType  # noqa: E402

# __all__: the public names imported above (a line added above joins it).
__all__ = sorted(
    {name for name, value in globals().items()
     if not name.startswith("_") and not isinstance(value, _ModuleType)}
)
