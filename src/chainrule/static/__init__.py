"""Define-and-run: a graph built once and run many times (issue 15).

``Graph`` is the explicit way, the lectures' TensorFlow model: placeholders, variables, ops,
``gradients`` (the derivative graph, in the same graph) and ``run(fetches, feed)``
(``chainrule.static.graph``). ``Plan`` replays a traced ``Program`` on new inputs
(``chainrule.static.plan``); ``compile`` (``cr.compile``) captures a function into a plan
on its first call and replays it on the later ones (``chainrule.static.compile``).
"""

from .capture import CaptureError
from .compile import CompiledFunction, compile  # noqa: A004 - torch.compile's name
from .graph import Graph, Placeholder, Update
from .plan import Plan

__all__ = ["CaptureError", "CompiledFunction", "Graph", "Placeholder", "Plan", "Update",
           "compile"]
