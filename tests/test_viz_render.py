"""cr.viz renders with Graphviz's `dot` when it is there, else with the pip-installed graphviz-pure.

These run on a machine without any system Graphviz: graphviz-pure comes with the `viz` extra
(and so with `test`), found beside the running Python even when its folder is not on PATH.
"""

from __future__ import annotations

import os
import stat
import struct

import pytest

import chainrule as cr
from chainrule import viz


def xyz():
    x, y, z = (cr.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    q = x + y
    f = q * z
    return {"x": x, "y": y, "z": z, "q": q, "f": f}


def _fake_dot(folder, svg_text):
    """A `dot` on PATH that answers every request with ``svg_text`` (to see which is used)."""
    path = folder / "dot"
    path.write_text(f"#!/bin/sh\ncat >/dev/null\nprintf '%s' '{svg_text}'\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_graphviz_pure_is_found_beside_python_when_nothing_is_on_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))        # no dot, no graphviz-pure on PATH
    name, program = viz.dot.renderer()
    assert name == "graphviz-pure" and os.access(program, os.X_OK)
    svg = viz.render_svg(xyz()["f"], names=xyz())
    assert "<svg" in svg and "value -12" in svg.replace("&#45;", "-")


def test_a_system_dot_is_preferred(tmp_path, monkeypatch):
    _fake_dot(tmp_path, "<svg>from the system dot</svg>")
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ.get("PATH", ""))
    assert viz.dot.renderer() == ("dot", str(tmp_path / "dot"))
    assert viz.render_svg(xyz()["f"]) == "<svg>from the system dot</svg>"


def test_graphviz_pure_draws_every_label_as_svg_and_png(tmp_path, monkeypatch):
    monkeypatch.setattr(viz.dot, "RENDERERS", ("graphviz-pure",))   # even where dot exists
    t = xyz()
    svg = (tmp_path / "xyz.svg")
    viz.draw(t["f"], svg, names=t)
    text = svg.read_text().replace("&#45;", "-")
    for label in ("x", "q", "f", "value -2", "value 3", "value -12", "grad -4", "grad 3", "+"):
        assert f">{label}<" in text, label
    png = viz.draw(t["f"], tmp_path / "xyz.png", names=t)
    data = open(png, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert 300 < width < 2000 and 100 < height < 1000      # the whole graph, laid out LR


def test_pdf_without_dot_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(viz.dot, "RENDERERS", ("graphviz-pure",))
    with pytest.raises(ValueError, match="cannot render format 'pdf' with graphviz-pure.*dot"):
        viz.draw(xyz()["f"], tmp_path / "xyz.pdf")
    assert not list(tmp_path.iterdir())


def test_a_drawing_renders_when_shown_or_saved(tmp_path):
    t = xyz()
    drawing = viz.draw(t["f"], names=t)
    assert isinstance(drawing, viz.Drawing) and drawing.source == viz.to_dot(t["f"], names=t)
    assert "<svg" in drawing._repr_svg_()
    assert drawing.pipe("png")[:4] == b"\x89PNG"
    path = drawing.save(tmp_path / "f.png")
    assert open(path, "rb").read()[:4] == b"\x89PNG"
    assert "edges" in repr(drawing)
