"""Define-and-run: a graph built once and run many times (issue 15).

``Plan`` replays a traced ``Program`` on new inputs (``chainrule.static.plan``);
``compile`` (``cr.compile``) captures a function into a plan on its first call and replays
it on the later ones (``chainrule.static.compile``).
"""

from .capture import CaptureError
from .compile import CompiledFunction, compile  # noqa: A004 - torch.compile's name
from .plan import Plan

__all__ = ["CaptureError", "CompiledFunction", "Plan", "compile"]
