"""Define-and-run: a graph built once and run many times (issue 15).

``Graph`` is the explicit way, the lectures' TensorFlow model: placeholders, variables, ops,
``gradients`` (the derivative graph, in the same graph) and ``run(fetches, feed)``
(``chainrule.static.graph``). ``Plan`` replays a traced ``Program`` on new inputs
(``chainrule.static.plan``).
"""

from .graph import Graph, Placeholder, Update
from .plan import Plan

__all__ = ["Graph", "Placeholder", "Plan", "Update"]
