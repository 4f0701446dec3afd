"""The namespace and sandbox of the docstring examples (``pytest --doctest-modules``).

Examples use ``cr``, ``np``, ``nn`` and ``F`` without importing them, so they stay short. Each
example runs in a fresh temporary directory (an example may save a file) after
``cr.manual_seed(0)``, so what it prints does not depend on which examples ran before it.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F


@pytest.fixture(autouse=True)
def _doctest_sandbox(doctest_namespace, tmp_path, monkeypatch):
    doctest_namespace.update(cr=cr, np=np, nn=nn, F=F)
    monkeypatch.chdir(tmp_path)
    cr.manual_seed(0)
    yield
