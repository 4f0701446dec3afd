"""The README's Python examples run, and what their comments claim is what they print.

Every ```python block of README.md is listed in ``BLOCKS`` by its first line: either it is
self-contained, or it continues another block (the README says "q from the first example"),
or it needs names that the surrounding prose only implies (``loader``, ``criterion``...),
which ``CONTEXT`` provides, small, here. A new block that is in neither fails
``test_every_block_is_listed``, so nobody adds an example that is never run.

Claims checked, statement by statement:
- ``print(...)  # text``, or ``print(...)`` followed by comment-only lines: the printed text
  is the text of those lines (else of the comment beside it), whitespace aside;
- ``expr  # tensor(...)...``: the value's repr begins the comment;
- ``expr  # ...: True`` (or False): the value is that bool;
- a ```` ``` ```` block right after a python block is the output of the python block's
  ``cr.viz.explain`` statement.
Other comments describe rather than claim and are not checked. Blocks run in a temporary
directory (they save checkpoints and pictures).
"""

from __future__ import annotations

import ast
import contextlib
import io
import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def readme_blocks():
    """[(first code line, language, code, line number of the fence)] in README order."""
    blocks, lines = [], README.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start, lang, body = i + 1, m.group(1), []
        i += 1
        while not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1
        first = next((b for b in body if b.strip()), "")
        blocks.append((first, lang, "\n".join(body) + "\n", start))
    return blocks


def _small_mlp_context(ns):
    import chainrule as cr
    from chainrule import nn

    cr.manual_seed(0)
    ns["model"] = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    ns["criterion"] = nn.CrossEntropyLoss()
    ns["x"], ns["y"] = cr.randn(5, 4), cr.tensor([0, 2, 1, 0, 1])
    ns["w"] = cr.randn(3, dtype=cr.float64, requires_grad=True)
    ns["fn"] = lambda w: (w ** 3).sum()


def _loader_context(ns):
    import chainrule as cr

    # The block uses the model and loss of the block before it and a loader of its data.
    x, y = cr.randn(8, 10_000), cr.randint(0, 10, (8,))
    ns["loader"] = [(x, y), (x, y)]


def _sequence_context(ns):
    import chainrule as cr

    # A batch of 3 sequences of 10 features, 7 steps padded (lengths 7, 4, 5, unsorted), and
    # the embeddings of 3 sequences of 7 tokens that the Transformer reads.
    cr.manual_seed(0)
    ns["T"] = 7
    ns["x"], ns["lengths"] = cr.randn(3, 7, 10), [7, 4, 5]
    ns["emb"] = cr.randn(3, 7, 64)


# a block's key (_key) -> (how it runs, the key of the block it continues, a context to add)
BLOCKS = {
    "x = cr.tensor(-2.0, requires_grad=True)": ("self-contained", None, None),
    "class Cube(cr.autograd.Function):": ("self-contained", None, None),
    'print(cr.autograd.why_no_grad(q, f, name="q"))    # q from the first example':
        ("continues", "x = cr.tensor(-2.0, requires_grad=True)", None),
    "model = nn.Sequential(nn.Linear(10_000, 300), nn.BatchNorm1d(300), nn.ReLU(),":
        ("self-contained", None, None),
    "opt = cr.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)":
        ("continues", "model = nn.Sequential(nn.Linear(10_000, 300), nn.BatchNorm1d(300), "
         "nn.ReLU(),", _loader_context),
    "X, y = datasets.moons(1000, noise=0.1, seed=0)": ("self-contained", None, None),
    "cr.manual_seed(2147483647)": ("self-contained", None, None),
    "with cr.viz.trace_modules(model):": ("needs", None, _small_mlp_context),
    "model = nn.Sequential(                       # LeNet: 61,706 parameters":
        ("self-contained", None, None),
    "lstm = nn.LSTM(10, 20, num_layers=2, bidirectional=True, batch_first=True)":
        ("needs", None, _sequence_context),
    "model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))":
        ("self-contained", None, None),
    "g = cr.static.Graph()": ("self-contained", None, None),
    "@cr.compile                      # or cr.compile(model); fit(..., compile=True); "
    "chainrule train --compile":
        ("continues", "model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))",
         None),
}

PRELUDE = "import chainrule as cr\nfrom chainrule import nn\n"


def _key(code):
    """A block's key: its first line that is not an import (several blocks import alike)."""
    for line in code.splitlines():
        if line.strip() and not line.startswith(("import ", "from ")):
            return line
    return ""


def python_blocks():
    return [(_key(code), code, line) for first, lang, code, line in readme_blocks()
            if lang == "python"]


def _comments(lines, lineno):
    """The trailing comment of line ``lineno`` (1-based, None if none) and the text of the
    comment-only lines right after it (None if none)."""
    line = lines[lineno - 1]
    trailing = line.split("#", 1)[1].strip() if "#" in line else None
    after = []
    for nxt in lines[lineno:]:
        if not nxt.lstrip().startswith("#"):
            break
        after.append(nxt.lstrip()[1:].strip())
    return trailing, (" ".join(after) if after else None)


def run_block(code, ns):
    """Run ``code`` statement by statement in ``ns``; check its claims; return explain's output."""
    lines = code.splitlines()
    explained = None
    for stmt in ast.parse(code).body:
        source = ast.get_source_segment(code, stmt)
        comment, output = _comments(lines, stmt.end_lineno)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            if isinstance(stmt, ast.Expr):
                value = eval(compile(ast.Expression(stmt.value), "README.md", "eval"), ns)
            else:
                exec(compile(ast.Module([stmt], []), "README.md", "exec"), ns)
                value = None
        printed = out.getvalue()
        if "cr.viz.explain(" in source:
            explained = printed
        if not isinstance(stmt, ast.Expr):
            continue
        call = stmt.value
        if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "print":
            claim = output or comment   # the printed text, in comment lines below or beside
            if claim is not None:
                assert " ".join(printed.split()) == " ".join(claim.split()), (source, printed)
        elif comment is None:
            continue
        elif comment.startswith("tensor("):
            assert comment.startswith(repr(value)), (source, repr(value), comment)
        elif comment.endswith((": True", ": False")):
            assert value is comment.endswith("True"), (source, value)
    return explained


def test_every_block_is_listed():
    keys = [key for key, _, _ in python_blocks()]
    assert keys, "no ```python block found in README.md"
    unlisted = [k for k in keys if k not in BLOCKS]
    assert not unlisted, f"README python blocks not in tests/test_readme.py BLOCKS: {unlisted}"
    assert len(set(keys)) == len(keys), "two README python blocks start alike"


@pytest.mark.parametrize("key", list(BLOCKS))
def test_readme_block_runs(key, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = {k: code for k, code, _ in python_blocks()}
    if key not in blocks:
        pytest.fail(f"BLOCKS lists a block that README.md no longer has: {key!r}")
    how, parent, context = BLOCKS[key]
    ns = {}
    exec(PRELUDE, ns)
    if how == "continues":
        run_block(blocks[parent], ns)
    if context is not None:
        context(ns)
    run_block(blocks[key], ns)


def test_explain_output_in_readme_is_what_it_prints(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    all_blocks = readme_blocks()
    for i, (first, lang, code, _) in enumerate(all_blocks[:-1]):
        nxt = all_blocks[i + 1]
        if lang == "python" and "cr.viz.explain(" in code and nxt[1] == "":
            ns = {}
            exec(PRELUDE, ns)
            printed = run_block(code, ns)
            assert printed.strip() == nxt[2].strip()
            return
    pytest.fail("README.md has no explain example followed by its output")
