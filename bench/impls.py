"""The implementations by name (chainrule compiled: ``cr.compile`` of the chainrule step), imported only when asked for.

A memory probe of the floor must not import torch or chainrule, so each is loaded lazily.
"""

from __future__ import annotations

import importlib

IMPLS = ("floor", "chainrule", "compiled", "torch")
# Which thread pool runs each implementation's heavy work (see timing.round_robin).
POOLS = {"floor": "openblas", "chainrule": "openblas", "compiled": "openblas", "torch": "torch"}
_MODULES = {"floor": ".floor", "chainrule": ".impl_chainrule", "compiled": ".impl_compiled",
            "torch": ".impl_torch"}


def module(name: str):
    if name not in _MODULES:
        raise SystemExit(f"bench: unknown implementation {name!r}; choose from {', '.join(IMPLS)}")
    try:
        return importlib.import_module(_MODULES[name], __package__)
    except ImportError as exc:
        if name == "torch" and exc.name == "torch":
            raise SystemExit("bench: PyTorch is not installed (pip install -e '.[bench]'); "
                             "or leave it out: --impls floor,chainrule") from None
        raise


def build(name: str, case, data):
    """An implementation of ``case`` whose ``step()`` is what gets timed (None: the
    implementation has no form of this case)."""
    return module(name).build(case, data)
