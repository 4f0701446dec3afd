"""See the graph: draw it with values and gradients, and narrate the backward pass.

    >>> x, y, z = (cr.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    >>> q = x + y
    >>> f = q * z
    >>> cr.viz.draw(f, "xyz.png", names=locals())   # the lecture's picture
    'xyz.png'
    >>> cr.viz.explain(f, names=locals())           # upstream x local, edge by edge
    backward pass of f = -12, node by node in reverse topological order
    seed: df/df = 1
      1  f = q * z  ->  q :  upstream df/df = 1   ×  local df/dq = -4  =  df/dq = -4
      2  f = q * z  ->  z :  upstream df/df = 1   ×  local df/dz = 3   =  df/dz = 3   z.grad
      3  q = x + y  ->  x :  upstream df/dq = -4  ×  local dq/dx = 1   =  df/dx = -4  x.grad
      4  q = x + y  ->  y :  upstream df/dq = -4  ×  local dq/dy = 1   =  df/dy = -4  y.grad

Nothing here imports Graphviz until a picture is rendered (``draw``, ``render_svg``).
"""

from .dot import Drawing, render_svg  # noqa: F401
from .static import draw, to_dot  # noqa: F401 - a Tensor's graph (viz.dot) or a static graph
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
