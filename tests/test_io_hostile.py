"""cr.load on damaged and hostile files: always SerializationError naming the file, fast,
with memory bounded by the file's real size; atomic saves: modes, exceptions, kill -9."""

import json
import os
import signal
import stat
import struct
import subprocess
import sys
import textwrap
import time
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import io
from chainrule.io.atomic import atomic_write, temp_prefix
from chainrule.io.serialization import SerializationError

W = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
W_DATA = np.array([1.5, -2.0], np.float32).tobytes()
W_REF = {"__array__": "w", "kind": "tensor"}


def _write(path, header, data=b"", length=None):
    """A safetensors-shaped file: 8-byte length, header (a dict as JSON, or raw bytes), data."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw) if length is None else length) + raw + data)
    return path


def _meta(structure, version=1, **extra):
    return {"__metadata__": {"chainrule": json.dumps({"version": version,
                                                      "structure": structure, **extra})}}


def _with_w(structure, **kw):
    return {"w": W, **_meta(structure, **kw)}


def _nested(depth, leaf="0"):
    return "[" * depth + leaf + "]" * depth


# (id, header, data, what the message must say); every file also is named in the message.
HOSTILE = [
    ("version-is-a-string", _with_w(W_REF, version="1"), W_DATA, "format version is \"1\""),
    ("version-is-a-bool", _with_w(W_REF, version=True), W_DATA, "format version is true"),
    ("version-is-zero", _with_w(W_REF, version=0), W_DATA, "not an integer >= 1"),
    ("version-is-newer", _with_w(W_REF, version=2), W_DATA, "newer chainrule"),
    ("version-missing", {"w": W, "__metadata__": {"chainrule": '{"structure": 1}'}}, W_DATA,
     "expected an object with version and structure"),
    ("metadata-json-is-a-list", {"w": W, "__metadata__": {"chainrule": "[1, 2]"}}, W_DATA,
     "damaged chainrule metadata"),
    ("metadata-not-json", {"w": W, "__metadata__": {"chainrule": "{nope"}}, W_DATA,
     "chainrule metadata is not valid JSON"),
    ("metadata-nested-100000-deep",
     {"w": W, "__metadata__": {"chainrule": _nested(100_000)}}, W_DATA, "nested too deeply"),
    ("header-nested-100000-deep", ('{"a": ' + _nested(100_000) + "}").encode(), b"",
     "nested too deeply"),
    ("structure-nested-300-deep",
     {"w": W, "__metadata__": {"chainrule": '{"version": 1, "structure": '
                               + _nested(300) + "}"}}, W_DATA, "nested more than 256"),
    ("metadata-not-a-dict", {"w": W, "__metadata__": [1]}, W_DATA, "__metadata__ must map"),
    ("metadata-value-not-str", {"w": W, "__metadata__": {"chainrule": 5}}, W_DATA,
     "__metadata__ must map"),
    ("header-is-a-list", b"[1, 2, 3]", b"", "does not start with {"),
    ("header-not-utf8", b"{\"\xff\xfe\": 1}", b"", "not UTF-8"),
    ("header-nan", b'{"w": NaN}', b"", "not valid JSON"),
    ("header-huge-int", b'{"w": ' + b"9" * 5000 + b"}", b"", "not valid JSON"),
    ("entry-not-an-object", {"w": 5}, b"", "is not an object with dtype"),
    ("entry-missing-shape", {"w": {"dtype": "F32", "data_offsets": [0, 8]}}, W_DATA,
     "is not an object with dtype, shape"),
    ("dtype-unknown", {"w": {**W, "dtype": "X9"}}, W_DATA, "dtype 'X9'"),
    ("dtype-bfloat16", {"w": {**W, "dtype": "BF16", "data_offsets": [0, 4]}}, W_DATA[:4],
     "dtype 'BF16'"),
    ("dtype-not-a-string", {"w": {**W, "dtype": ["F32"]}}, W_DATA, "has dtype ['F32']"),
    ("shape-negative", {"w": {**W, "shape": [-2]}}, W_DATA, "has shape [-2]"),
    ("shape-float", {"w": {**W, "shape": [2.0]}}, W_DATA, "has shape [2.0]"),
    ("shape-bool", {"w": {**W, "shape": [True, 2]}}, W_DATA, "has shape [true, 2]"),
    ("shape-string", {"w": {**W, "shape": "2"}}, W_DATA, "has shape \"2\""),
    ("shape-100-dims", {"w": {**W, "shape": [1] * 100}}, W_DATA, "at most 64 integers"),
    ("shape-lies-small-data", {"w": {**W, "shape": [10**6, 10**6]}}, W_DATA,
     "needs 4000000000000 bytes"),
    ("shape-lies-and-offsets-too",
     {"w": {**W, "shape": [10**6, 10**6], "data_offsets": [0, 4 * 10**12]}}, W_DATA,
     "declares 4000000000000 bytes of tensor data but the file holds 8"),
    ("shape-empty-but-huge", {"w": {**W, "shape": [0, 10**30], "data_offsets": [0, 0]}}, b"",
     "too large for any array"),
    ("offsets-reversed", {"w": {**W, "data_offsets": [8, 0]}}, W_DATA, "0 <= begin <= end"),
    ("offsets-negative", {"w": {**W, "data_offsets": [-8, 0]}}, W_DATA, "0 <= begin <= end"),
    ("offsets-three", {"w": {**W, "data_offsets": [0, 4, 8]}}, W_DATA, "[begin, end]"),
    ("offsets-past-end", {"w": {**W, "data_offsets": [8, 16]}}, W_DATA, "expected 0 (a gap)"),
    ("offsets-overlap", {"w": W, "v": W}, W_DATA * 2, "(overlapping)"),
    ("trailing-bytes", {"w": W}, W_DATA + b"junk", "4 bytes follow the last tensor"),
    ("missing-data", {"w": W}, W_DATA[:5], "declares 8 bytes"),
    ("bool-holds-2", {"m": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}}, b"\x01\x02",
     "bytes other than 0 and 1"),
    ("structure-names-missing-tensor", _with_w({"__array__": "nope", "kind": "tensor"}), W_DATA,
     "names tensor 'nope'"),
    ("array-name-not-a-string", _with_w({"__array__": ["w"], "kind": "tensor"}), W_DATA,
     "needs a name and a kind"),
    ("array-kind-unknown", _with_w({"__array__": "w", "kind": "module"}), W_DATA,
     "needs a name and a kind"),
    ("dict-items-not-pairs", _with_w({"__dict__": [["a", 1, 2]]}), W_DATA,
     "list of [key, value] pairs"),
    ("dict-items-single", _with_w({"__dict__": [["a"]]}), W_DATA, "list of [key, value] pairs"),
    ("dict-items-not-a-list", _with_w({"__dict__": {"a": 1}}), W_DATA,
     "list of [key, value] pairs"),
    ("dict-ordered-not-bool", _with_w({"__dict__": [], "ordered": "yes"}), W_DATA,
     "list of [key, value] pairs"),
    ("dict-key-unhashable", _with_w({"__dict__": [[{"__dict__": []}, 1]]}), W_DATA,
     "a dict key cannot be a dict"),
    ("dict-key-an-array", _with_w({"__dict__": [[W_REF, 1]]}), W_DATA,
     "a dict key cannot be an array"),
    ("tuple-not-a-list", _with_w({"__tuple__": 5}), W_DATA, "__tuple__ must be a list"),
    ("float-not-special", _with_w({"__float__": "1e5"}), W_DATA, "__float__ must be"),
    ("scalar-of-a-vector", _with_w({"__scalar__": W_REF}), W_DATA, "has shape (2,), not ()"),
    ("scalar-not-an-array", _with_w({"__scalar__": 3}), W_DATA, "must hold an array"),
    ("unknown-node", _with_w({"__pickle__": "os.system"}), W_DATA, "unreadable structure"),
    ("extra-keys-on-array", _with_w({**W_REF, "code": "x"}), W_DATA, "unexpected keys"),
]


@pytest.mark.parametrize("name,header,data,message", HOSTILE, ids=[row[0] for row in HOSTILE])
def test_hostile_metadata_gives_the_loaders_error(tmp_path, name, header, data, message):
    path = _write(tmp_path / f"{name}.safetensors", header, data)
    for read in (cr.load, io.describe):
        if read is io.describe and message == "bytes other than 0 and 1":
            continue  # describe reads no data
        with pytest.raises(SerializationError) as info:
            read(path)
        assert str(path) in str(info.value) and message in str(info.value), str(info.value)
    with open(path, "rb") as f:  # a file object gets the same checks
        with pytest.raises(SerializationError, match="load: "):
            cr.load(f)


def test_the_table_rows_differ_from_a_good_file_only_where_they_say(tmp_path):
    """The table's template is a valid file: each row's error comes from its one change."""
    back = cr.load(_write(tmp_path / "good.safetensors", _with_w(W_REF), W_DATA))
    np.testing.assert_array_equal(back.numpy(), [1.5, -2.0])
    assert io.describe(tmp_path / "good.safetensors") == io.TensorInfo(
        "w", (2,), np.dtype(np.float32), "tensor")


def _checkpoint(path):
    cr.save({"model": {"0.weight": cr.randn(3, 2), "0.bias": cr.zeros(3)},
             "mask": np.array([True, False]), "epoch": 4, "lr": (0.1, {"__x": None})}, path)
    return path.read_bytes()


def test_every_truncation_is_refused(tmp_path):
    data = _checkpoint(tmp_path / "ckpt.safetensors")
    bad = tmp_path / "cut.safetensors"
    for cut in range(len(data)):
        bad.write_bytes(data[:cut])
        with pytest.raises(SerializationError, match="cut.safetensors"):
            cr.load(bad)


def test_every_bit_flip_in_the_header_loads_or_gives_the_loaders_error(tmp_path):
    """A flipped bit may still spell a valid file (a key "epoch" becomes "epocl"); all the
    others must be refused with SerializationError, never any other exception."""
    data = bytearray(_checkpoint(tmp_path / "ckpt.safetensors"))
    header_end = 8 + struct.unpack("<Q", bytes(data[:8]))[0]
    bad, refused, loaded = tmp_path / "flip.safetensors", 0, 0
    for byte in range(header_end):
        for bit in range(8):
            data[byte] ^= 1 << bit
            bad.write_bytes(data)
            data[byte] ^= 1 << bit
            try:
                cr.load(bad)
            except SerializationError as exc:
                assert "flip.safetensors" in str(exc)
                refused += 1
            else:
                loaded += 1
    assert refused > 0.9 * (refused + loaded), (refused, loaded)
    for byte in range(8):  # the length field: always refused
        for bit in range(8):
            data[byte] ^= 1 << bit
            bad.write_bytes(data)
            data[byte] ^= 1 << bit
            with pytest.raises(SerializationError):
                cr.load(bad)


def test_random_junk_and_foreign_files_are_refused(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(200):
        junk = rng.integers(0, 256, int(rng.integers(0, 300)), dtype=np.uint8).tobytes()
        path = tmp_path / f"junk{i}.bin"
        path.write_bytes(junk)
        with pytest.raises(SerializationError, match=f"junk{i}.bin"):
            cr.load(path)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_symlink_to_a_device_is_refused_fast(tmp_path, device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    link = tmp_path / "model.safetensors"
    link.symlink_to(device)
    started = time.perf_counter()
    with pytest.raises(SerializationError, match=f"character device \\({device}\\)"):
        cr.load(link)
    assert time.perf_counter() - started < 2.0  # measured: about 0.1 ms


def test_fifo_and_folder_are_refused_without_waiting(tmp_path):
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer without O_NONBLOCK
    started = time.perf_counter()
    with pytest.raises(SerializationError, match="pipe.safetensors is a FIFO"):
        cr.load(fifo)
    assert time.perf_counter() - started < 2.0
    with pytest.raises(SerializationError, match="is a folder"):
        cr.load(tmp_path)
    with pytest.raises(FileNotFoundError):
        cr.load(tmp_path / "missing.safetensors")


def test_a_huge_non_checkpoint_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "big.bin"
    with open(path, "wb") as f:  # 1 GB, sparse: it costs no disk
        f.write(b"hello, this is text")
        f.truncate(2**30)
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(SerializationError, match="big.bin"):
        cr.load(path)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2**20 and elapsed < 2.0, (peak, elapsed)


@pytest.mark.parametrize("header", [
    {"w": {"dtype": "F64", "shape": [10**5, 10**5], "data_offsets": [0, 8 * 10**10]}},
    {f"t{i}": {"dtype": "U8", "shape": [10**6], "data_offsets": [i * 10**6, (i + 1) * 10**6]}
     for i in range(500)},
], ids=["one-80-GB-tensor", "500-MB-in-500-tensors"])
def test_a_file_that_lies_about_its_sizes_costs_no_memory(tmp_path, header):
    path = _write(tmp_path / "liar.safetensors", header, b"\0" * 64)
    tracemalloc.start()
    with pytest.raises(SerializationError, match="bytes of tensor data but the file holds 64"):
        cr.load(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 * 2**20, peak


def test_a_header_length_beyond_the_file_reads_nothing(tmp_path):
    path = _write(tmp_path / "long.safetensors", b'{"a": 1}', length=90 * 2**20)
    tracemalloc.start()
    with pytest.raises(SerializationError, match="claims 94371840 bytes but the file has 8"):
        cr.load(path)
    assert tracemalloc.get_traced_memory()[1] < 2**20
    tracemalloc.stop()


def test_loading_costs_about_one_times_the_file(tmp_path):
    path = tmp_path / "big.safetensors"
    cr.save({"a": cr.randn(1000, 1000), "b": np.arange(10**6), "n": 3}, path)
    size = path.stat().st_size
    tracemalloc.start()
    back = cr.load(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert back["n"] == 3 and back["b"][-1] == 10**6 - 1
    assert peak < 1.1 * size, peak / size  # read into place: measured 1.0005x


class _Stream:
    """A non-seekable binary stream (a pipe, a socket): its length is unknown."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def read(self, n):
        piece = self.data[self.pos:self.pos + n]
        self.pos += len(piece)
        return piece


def test_streams_of_unknown_length_are_read_as_far_as_they_go(tmp_path):
    data = _checkpoint(tmp_path / "ckpt.safetensors")
    back = cr.load(_Stream(data))
    assert back["epoch"] == 4 and back["model"]["0.weight"].shape == (3, 2)
    for cut in (0, 7, 8, 50, len(data) - 1):
        with pytest.raises(SerializationError, match="<file object>"):
            cr.load(_Stream(data[:cut]))
    liar = json.dumps({"w": {"dtype": "F64", "shape": [10**5, 10**5],
                             "data_offsets": [0, 8 * 10**10]}}).encode()
    tracemalloc.start()
    with pytest.raises(SerializationError, match="ends inside tensor 'w'"):
        cr.load(_Stream(struct.pack("<Q", len(liar)) + liar + b"\0" * 100))
    assert tracemalloc.get_traced_memory()[1] < 2**20
    tracemalloc.stop()


def test_save_refuses_structures_nested_too_deep(tmp_path):
    deep = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(ValueError, match="nested more than 64 levels"):
        cr.save(deep, tmp_path / "deep.safetensors")
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="nested more than 64 levels"):
        cr.save(loop, tmp_path / "loop.safetensors")
    ok = []
    for _ in range(60):
        ok = [ok]
    cr.save(ok, tmp_path / "ok.safetensors")
    assert cr.load(tmp_path / "ok.safetensors") == ok


# --- writes: modes, exceptions, kill -9 ------------------------------------------------

@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    yield
    os.umask(old)


def test_new_files_get_the_umask_and_replaced_files_keep_their_mode(tmp_path, umask_027):
    path = tmp_path / "m.safetensors"
    cr.save({"w": cr.ones(2)}, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # 0o666 & ~0o027, as open() gives
    os.chmod(path, 0o644)
    cr.save({"w": cr.zeros(2)}, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    os.chmod(path, 0o600)
    cr.save({"w": cr.ones(2)}, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    np.testing.assert_array_equal(cr.load(path)["w"].numpy(), [1, 1])


def test_an_exception_inside_a_write_leaves_nothing(tmp_path):
    path = tmp_path / "x.json"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_write(path) as f:
            f.write(b"new, half")
            raise RuntimeError("boom")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["x.json"]


def test_stale_temp_files_are_removed_but_not_a_live_writers(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    prefix = temp_prefix(path)
    stale = [tmp_path / (prefix + "0123456789abcdef"), tmp_path / (prefix + "abcd_123")]
    for p in stale:  # written by processes that died: nobody holds their lock
        p.write_bytes(b"\0" * 1000)
    other = tmp_path / (temp_prefix(tmp_path / "ckpt") + "0123456789abcdef")
    other.write_bytes(b"of another target")  # ".tmp-ckpt.<token>": not ours to remove
    with atomic_write(path) as f:  # a live writer of the same target...
        f.write(b"in progress")
        live = [n for n in os.listdir(tmp_path) if n.startswith(prefix)
                and n not in {p.name for p in stale}]
        assert len(live) == 1 and not any(p.exists() for p in stale)
        cr.save({"w": cr.ones(1)}, tmp_path / "ckpt.safetensors")  # ...keeps its temp file
        assert (tmp_path / live[0]).exists()
    assert sorted(os.listdir(tmp_path)) == sorted(["ckpt.safetensors", other.name])
    assert path.read_bytes() == b"in progress"  # the last rename wins


_SAVER = textwrap.dedent("""
    import sys
    import chainrule as cr
    big = cr.zeros(16 * 2**20 // 4)   # 16 MB: the write takes a while
    print("ready", flush=True)
    while True:
        cr.save({"w": big, "epoch": 1}, sys.argv[1])
""")


def test_kill_9_during_save_then_the_next_save_cleans_up(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    cr.save({"epoch": 0}, path)
    prefix = temp_prefix(path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for _attempt in range(20):
        proc = subprocess.Popen([sys.executable, "-c", _SAVER, str(path)], env=env,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline() == "ready\n"
        deadline = time.monotonic() + 30
        while not any(n.startswith(prefix) for n in os.listdir(tmp_path)):
            assert time.monotonic() < deadline, "the saver never wrote"
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        if any(n.startswith(prefix) for n in os.listdir(tmp_path)):
            break  # killed in the middle of a save: its temp file is left behind
    else:
        pytest.fail("never killed the saver in the middle of a save")
    assert cr.load(path)["epoch"] in (0, 1)  # the target is intact, old or new
    cr.save({"epoch": 2}, path)
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]
    assert cr.load(path) == {"epoch": 2}


def test_a_header_of_millions_of_tiny_values_is_refused_before_parsing(tmp_path):
    """9 MB of "[]," would be ~170 MB of Python lists once parsed: refused by its count."""
    header = b'{"a": [' + b"[]," * 3_000_000 + b'[]]}'
    path = _write(tmp_path / "bomb.safetensors", header)
    tracemalloc.start()
    with pytest.raises(SerializationError, match="more than 2097152 JSON values"):
        cr.load(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 3 * len(header), peak / len(header)  # the text and its decoded copy


def test_an_open_device_passed_as_a_file_object_is_refused(tmp_path):
    with open("/dev/zero", "rb") as f:
        with pytest.raises(SerializationError, match="character device"):
            cr.load(f)


def _good_bytes():
    import io as pyio
    buf = pyio.BytesIO()
    cr.save({"model": {"w": cr.randn(3, 2), "b": cr.zeros(3)}, "mask": np.array([True]),
             "steps": [1, 2.5, None, "s", (3, float("inf"))], ("k", 1): np.int32(4)}, buf)
    return buf.getvalue()


_GOOD = _good_bytes()
_HEADER_END = 8 + struct.unpack("<Q", _GOOD[:8])[0]


@settings(max_examples=400, deadline=None)
@given(edits=st.lists(st.tuples(st.integers(0, _HEADER_END + 8), st.integers(0, 255)),
                      min_size=1, max_size=4),
       cut=st.none() | st.integers(0, len(_GOOD)))
def test_random_damage_loads_or_gives_the_loaders_error(edits, cut):
    import io as pyio
    data = bytearray(_GOOD)
    for pos, value in edits:
        data[pos] = value
    if cut is not None:
        del data[cut:]
    for read in (cr.load, io.describe):
        try:
            read(pyio.BytesIO(bytes(data)))
        except SerializationError as exc:
            assert str(exc).startswith("load: <file object>")
