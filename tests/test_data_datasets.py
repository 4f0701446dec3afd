"""Toy datasets, digits, MNIST IDX reader, CSV tables."""

import gzip
import os

import numpy as np
import pytest

from chainrule.data import datasets


@pytest.mark.parametrize("name", sorted(datasets.TOY))
def test_toy_dtypes_shapes_and_seed(name):
    make = datasets.TOY[name]
    X, y = make(seed=3)
    assert X.dtype == np.float32 and y.dtype == np.int64
    assert X.shape == (len(y), 2) and np.isfinite(X.numpy()).all()
    X2, y2 = make(seed=3)
    np.testing.assert_array_equal(X.numpy(), X2.numpy())
    np.testing.assert_array_equal(y.numpy(), y2.numpy())
    X3, _ = make(seed=4)
    assert not np.array_equal(X.numpy(), X3.numpy())
    # Shuffled: the first half is not all one class.
    assert len(np.unique(y.numpy()[: len(y) // 2])) > 1


@pytest.mark.parametrize("name,classes", [("two_clouds", 2), ("blobs", 3), ("xor", 2),
                                          ("circles", 2), ("moons", 2), ("spirals", 3)])
def test_toy_balanced(name, classes):
    _, y = datasets.TOY[name](n=301, seed=0)
    counts = np.bincount(y.numpy())
    assert len(counts) == classes and counts.max() - counts.min() <= 1 and counts.sum() == 301


def test_two_clouds_signed_labels():
    _, y = datasets.two_clouds(50, signed=True)
    assert set(y.tolist()) == {-1, 1}


def test_xor_and_circles_labels_follow_their_rule():
    X, y = datasets.xor(400, std=0.1, seed=0)
    x = X.numpy()
    np.testing.assert_array_equal(y.numpy(), (np.sign(x[:, 0]) != np.sign(x[:, 1])).astype(int))
    X, y = datasets.circles(400, noise=0.0, factor=0.3)
    radius = np.linalg.norm(X.numpy(), axis=1)
    np.testing.assert_allclose(radius, np.where(y.numpy() == 1, 0.3, 1.0), rtol=1e-5)


def test_triangle_labels_are_the_three_halfplanes():
    X, y = datasets.triangle(1000, seed=0)
    W, b = datasets.triangle_halfplanes()
    inside = (X.numpy() @ W.T + b > 0).all(axis=1)
    np.testing.assert_array_equal(y.numpy(), inside.astype(np.int64))
    assert 0.15 < y.numpy().mean() < 0.5
    # The vertices sit on two edges each, and the centroid is inside all three.
    centroid = datasets.TRIANGLE_VERTICES.mean(axis=0)
    assert (W @ centroid + b > 0).all()
    np.testing.assert_allclose(np.sort(np.abs(datasets.TRIANGLE_VERTICES @ W.T + b), axis=1)[:, :2],
                               0, atol=1e-12)


def test_toy_rejects_bad_sizes():
    with pytest.raises(ValueError, match="spirals: n must be an int >= 3"):
        datasets.spirals(2)
    with pytest.raises(ValueError, match="circles: factor"):
        datasets.circles(10, factor=1.5)


def test_digits():
    X, y = datasets.digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert X.numpy().min() == 0.0 and X.numpy().max() == 1.0
    assert y.dtype == np.int64 and sorted(set(y.tolist())) == list(range(10))
    assert datasets.digits(flatten=False)[0].shape == (1797, 8, 8)
    # Read straight from scikit-learn's file, it is exactly what load_digits gives.
    from sklearn.datasets import load_digits
    images, labels = load_digits(return_X_y=True)
    np.testing.assert_array_equal(X.numpy(), (images / 16).astype(np.float32))
    np.testing.assert_array_equal(y.numpy(), labels)


def _write_idx(path, array, compress):
    codes = {np.dtype(np.uint8): 0x08, np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D}
    header = bytes([0, 0, codes[array.dtype], array.ndim])
    header += np.array(array.shape, dtype=">i4").tobytes()
    raw = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    if compress:
        raw = gzip.compress(raw)
    with open(path, "wb") as f:
        f.write(raw)


@pytest.mark.parametrize("compress", [True, False])
def test_mnist_reads_idx_files(tmp_path, compress):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 7).astype(np.uint8)
    test_images, test_labels = images[:3], labels[:3]
    suffix = ".gz" if compress else ""
    _write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", images, compress)
    _write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", labels, compress)
    _write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", test_images, compress)
    _write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", test_labels, compress)
    X, y = datasets.mnist(tmp_path)
    assert X.shape == (7, 784) and X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(X.numpy(), images.reshape(7, -1).astype(np.float32) / 255)
    np.testing.assert_array_equal(y.numpy(), labels)
    Xt, yt = datasets.fashion_mnist(tmp_path, train=False, flatten=False)
    assert Xt.shape == (3, 28, 28)
    np.testing.assert_array_equal(yt.numpy(), test_labels)


def test_read_idx_other_dtypes_and_torchvision_layout(tmp_path):
    values = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    _write_idx(tmp_path / "f.idx", values, compress=False)
    np.testing.assert_array_equal(datasets.read_idx(tmp_path / "f.idx"), values)
    raw = tmp_path / "MNIST" / "raw"
    os.makedirs(raw)
    _write_idx(raw / "train-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8), False)
    _write_idx(raw / "train-labels-idx1-ubyte.gz", np.ones(2, np.uint8), True)
    X, y = datasets.mnist(tmp_path)
    assert X.shape == (2, 784) and y.tolist() == [1, 1]


def test_mnist_missing_files_say_what_and_where(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        datasets.mnist(tmp_path)
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message and str(tmp_path) in message
    assert "t10k-labels-idx1-ubyte.gz" in message
    with pytest.raises(FileNotFoundError, match="does not exist"):
        datasets.mnist(tmp_path / "nowhere")


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "junk").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="not an IDX file"):
        datasets.read_idx(tmp_path / "junk")
    _write_idx(tmp_path / "short", np.zeros((4, 4), np.uint8), False)
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-3])
    with pytest.raises(ValueError, match="header says"):
        datasets.read_idx(tmp_path / "short")


def test_load_csv_with_header_and_string_labels(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,species,b\n1.5,cat,2\n0,dog,-1\n3,cat,4e-1\n")
    X, y, classes = datasets.load_csv(path, label_column="species")
    np.testing.assert_array_equal(X.numpy(), np.array([[1.5, 2], [0, -1], [3, 0.4]], np.float32))
    assert y.tolist() == [0, 1, 0] and classes == ["cat", "dog"] and y.dtype == np.int64
    X, y, classes = datasets.load_csv(path, label_column=1)
    assert classes == ["cat", "dog"]


def test_load_csv_without_header_numeric_labels(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("1,2,5\n3,4,7\n5,6,5\n")
    X, y, classes = datasets.load_csv(path)
    assert X.shape == (3, 2) and y.tolist() == [0, 1, 0] and classes == ["5", "7"]


def test_load_csv_errors(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n1,x,0\n")
    with pytest.raises(ValueError, match="non-numeric"):
        datasets.load_csv(path, label_column="label")
    with pytest.raises(ValueError, match="no column 'kind'.*'a', 'b', 'label'"):
        datasets.load_csv(path, label_column="kind")
    path.write_text("a,b,label\n1,2,0\n1,2\n")
    with pytest.raises(ValueError, match="row 3 has 2 fields, expected 3"):
        datasets.load_csv(path, label_column="label")
