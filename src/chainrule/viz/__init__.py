"""See the graph: draw it with values and gradients, and narrate the backward pass.

    >>> x, y, z = (cr.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    >>> q = x + y
    >>> f = q * z
    >>> cr.viz.draw(f, "xyz.png", names=locals())   # the lecture's picture
    >>> cr.viz.explain(f, names=locals())           # upstream x local, edge by edge

Nothing here imports Graphviz until a picture is rendered (``draw``, ``render_svg``).
"""

from .dot import Drawing, draw, render_svg, to_dot  # noqa: F401
from .explain import BackwardStep, GradientSum, explain  # noqa: F401
from .graph import keep_graph, walk  # noqa: F401
from .modules import trace_modules  # noqa: F401
from .numeric import numeric_vs_analytic  # noqa: F401
from . import notebook as _notebook  # noqa: E402

_notebook.install()  # Jupyter draws a Tensor's graph once viz is imported

from types import ModuleType as _ModuleType  # noqa: E402

# __all__: the public names imported above (a line added above joins it).
__all__ = sorted(
    {name for name, value in globals().items()
     if not name.startswith("_") and not isinstance(value, _ModuleType)}
)
