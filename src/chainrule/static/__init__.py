"""Define-and-run: a graph built once and run many times (issue 15).

``Plan`` replays a traced ``Program`` on new inputs (``chainrule.static.plan``).
"""

from .plan import Plan

__all__ = ["Plan"]
