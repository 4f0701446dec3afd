"""cr.save / cr.load: safetensors round trips, atomic writes, refusal of pickles and junk."""

import os
import pickle
import struct

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
from chainrule import nn
from chainrule.io import serialization
from chainrule.io.serialization import SerializationError


def _assert_same(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, cr.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a._array, b._array)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


def test_nested_round_trip(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    obj = {
        "model": model.state_dict(),
        "optimizer": {"state": {0: {"step": 7, "exp_avg": cr.randn(4, 3, dtype=cr.float64)}},
                      "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1, 2],
                                        "amsgrad": False, "foreach": None}]},
        "epoch": 3, "best": float("inf"), "nan": float("nan"), "name": "mlp",
        "history": [0.5, 0.25, {"acc": np.float32(0.75)}],
        "array": np.arange(6, dtype=np.int32).reshape(2, 3), "mask": np.array([True, False]),
        "empty": cr.zeros(0, 3), "transposed": cr.randn(3, 4).T,
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)), "scalar": cr.tensor(2.5), "half": np.ones(2, np.float16),
        "rng": cr.Generator().manual_seed(5).get_state(),
        ("a", 1): "tuple key", 2: "int key", None: [], "list_of_tensors": [cr.ones(2), cr.ones(2)],
    }
    path = tmp_path / "ckpt.safetensors"
    cr.save(obj, path)
    back = cr.load(path)
    _assert_same(obj, back)
    # the loaded state_dict drives a model to the same outputs
    other = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)).eval()
    other.load_state_dict(back["model"])
    x = cr.randn(5, 3)
    np.testing.assert_array_equal(other(x).detach().numpy(), model.eval()(x).detach().numpy())


def test_flat_state_dict_is_a_plain_safetensors_file(tmp_path):
    """Other tools read our file, and we read theirs (flat tensors)."""
    from safetensors.numpy import load_file, save_file
    sd = nn.Linear(3, 2).state_dict()
    cr.save(sd, tmp_path / "m.safetensors")
    raw = load_file(str(tmp_path / "m.safetensors"))
    assert sorted(raw) == ["bias", "weight"]
    np.testing.assert_array_equal(raw["weight"], sd["weight"].numpy())
    tm = torch.nn.Linear(3, 2)
    save_file({k: v.detach().numpy() for k, v in tm.state_dict().items()},
              str(tmp_path / "torch.safetensors"))
    loaded = cr.load(tmp_path / "torch.safetensors")
    m = nn.Linear(3, 2)
    m.load_state_dict(loaded)
    np.testing.assert_array_equal(m.weight.detach().numpy(), tm.weight.detach().numpy())


def test_file_objects(tmp_path):
    import io
    buf = io.BytesIO()
    cr.save({"w": cr.ones(3)}, buf)
    buf.seek(0)
    _assert_same(cr.load(buf), {"w": cr.ones(3)})


def test_unsupported_objects_are_refused_at_save(tmp_path):
    with pytest.raises(TypeError, match="cannot store a object at bad"):
        cr.save({"bad": object()}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="dtype <U1"):
        cr.save({"s": np.array(["a"])}, tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


def test_interrupted_write_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    cr.save({"w": cr.ones(3), "epoch": 1}, path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("simulated crash before the rename")
    monkeypatch.setattr(serialization.os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        cr.save({"w": cr.zeros(1000), "epoch": 2}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert cr.load(path)["epoch"] == 1
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]  # no temporary file left behind


def test_crash_while_writing_bytes_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    cr.save({"epoch": 1}, path)
    before = path.read_bytes()
    real_fsync = os.fsync

    def crash(fd):
        raise KeyboardInterrupt  # e.g. Ctrl-C in the middle of the write
    monkeypatch.setattr(serialization.os, "fsync", crash)
    with pytest.raises(KeyboardInterrupt):
        cr.save({"epoch": 2, "w": cr.ones(10)}, path)
    monkeypatch.setattr(serialization.os, "fsync", real_fsync)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]


def test_truncated_file_is_named_in_the_error(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    cr.save({"w": cr.randn(100), "epoch": 4}, path)
    data = path.read_bytes()
    for cut in (3, 20, len(data) - 10):
        bad = tmp_path / f"cut{cut}.safetensors"
        bad.write_bytes(data[:cut])
        with pytest.raises(SerializationError, match=str(bad)):
            cr.load(bad)


def test_foreign_files_get_clear_errors(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a checkpoint at all")
    with pytest.raises(SerializationError, match="notes.txt"):
        cr.load(text)
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    with pytest.raises(SerializationError, match="empty.bin.*0 bytes"):
        cr.load(empty)
    npy = tmp_path / "a.npy"
    np.save(npy, np.zeros(3))
    with pytest.raises(SerializationError, match="NumPy .npy"):
        cr.load(npy)
    # a valid length but a header that is not JSON
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(struct.pack("<Q", 4) + b"{{{{")
    with pytest.raises(SerializationError, match="not valid JSON"):
        cr.load(junk)


class _Payload:
    """Unpickling this would create a marker file: a stand-in for malicious code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_payload_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"w": _Payload(str(marker))}))
    with pytest.raises(SerializationError, match="pickle"):
        cr.load(path)
    assert not marker.exists()
    # the payload is real: unpickling it (which chainrule never does) creates the file
    pickle.loads(path.read_bytes())["w"].close()
    assert marker.exists()


def test_torch_save_file_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"w": torch.ones(2), "evil": _Payload(str(marker))}, path)
    with pytest.raises(SerializationError, match="torch.save"):
        cr.load(path)
    assert not marker.exists()


def test_missing_safetensors_gives_install_hint(monkeypatch, tmp_path):
    import builtins
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("safetensors"):
            raise ImportError("No module named 'safetensors'")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match="pip install safetensors"):
        cr.save({"w": cr.ones(1)}, tmp_path / "x.safetensors")


_arrays = hnp.arrays(
    dtype=st.sampled_from([np.float32, np.float64, np.int64, np.int32, np.uint8, np.bool_,
                           np.float16]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
_leaves = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
           | st.text(max_size=5) | _arrays | _arrays.map(cr.from_numpy))
_keys = st.text(max_size=4) | st.integers(-5, 5) | st.booleans() | st.none()
_trees = st.recursive(_leaves, lambda children: (
    st.lists(children, max_size=3) | st.tuples(children, children)
    | st.dictionaries(_keys, children, max_size=3)), max_leaves=12)


@settings(max_examples=60, deadline=None)
@given(obj=_trees)
def test_any_supported_structure_round_trips(obj):
    import io
    buf = io.BytesIO()
    cr.save(obj, buf)
    buf.seek(0)
    back = cr.load(buf)
    _assert_same_or_nan(obj, back)


def _assert_same_or_nan(a, b):
    if isinstance(a, (np.ndarray, cr.Tensor)):
        assert type(a) is type(b)
        x, y = (a._array, b._array) if isinstance(a, cr.Tensor) else (a, b)
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(x, y)
    elif isinstance(a, dict):
        assert type(a) is type(b) and list(a) == list(b)
        for k in a:
            _assert_same_or_nan(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same_or_nan(x, y)
    else:
        assert type(a) is type(b) and a == b


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="folder .*nope does not exist"):
        cr.save({"w": cr.ones(1)}, tmp_path / "nope" / "x.safetensors")


def test_describe_reads_shapes_from_the_header_alone(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    cr.save({"model": nn.Linear(3, 2).state_dict(), "step": np.int64(7), "n": 3,
             "mask": np.array([True, False])}, path)
    info = cr.io.describe(path)
    assert info["model"]["weight"] == cr.io.TensorInfo("model.weight", (2, 3),
                                                       np.dtype(np.float32), "tensor")
    assert info["step"].kind == "scalar" and info["step"].shape == ()
    assert info["mask"].kind == "ndarray" and info["n"] == 3
    from safetensors.numpy import save_file
    save_file({"b": np.zeros((4, 5), np.float16), "a": np.ones(2)}, str(tmp_path / "f.st"))
    assert {k: v.shape for k, v in cr.io.describe(tmp_path / "f.st").items()} == {
        "a": (2,), "b": (4, 5)}


def test_a_tensor_named_twice_gives_two_arrays(tmp_path):
    """Hand-made metadata may name one tensor twice: each place gets its own array."""
    import json
    path = tmp_path / "twice.safetensors"
    ref = {"__array__": "w", "kind": "ndarray"}
    from safetensors.numpy import save_file
    save_file({"w": np.arange(3.0)}, str(path), metadata={"chainrule": json.dumps(
        {"version": 1, "structure": [ref, ref]})})
    a, b = cr.load(path)
    a[0] = 99
    assert b[0] == 0
