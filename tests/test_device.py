"""Devices, the CUDA probes, cr.backends, cr.accelerator and inference_mode, against torch 2.13."""

from __future__ import annotations

import importlib.util
import sys
import types

import pytest
import torch

import chainrule as cr

HAS_CUPY = importlib.util.find_spec("cupy") is not None


@pytest.mark.parametrize("spec", ["cpu", "cuda", "cuda:0", "cuda:3", "mps", "cpu:0", "meta"])
def test_device_parses_like_torch(spec):
    ours, theirs = cr.device(spec), torch.device(spec)
    assert (ours.type, ours.index) == (theirs.type, theirs.index)
    assert str(ours) == str(theirs)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("type_,index", [("cuda", 1), ("cpu", None), ("cuda", None)])
def test_device_from_type_and_index(type_, index):
    assert repr(cr.device(type_, index)) == repr(torch.device(type_, index))
    assert cr.device(cr.device(type_, index)) == cr.device(type_, index)


@pytest.mark.parametrize("spec", ["gpu", "cuda:x", "cuda:-1", "tpu", ""])
def test_bad_device_strings_are_refused_as_torch_refuses(spec):
    with pytest.raises(RuntimeError):
        torch.device(spec)
    with pytest.raises(RuntimeError, match="device"):
        cr.device(spec)


def test_negative_index_refused():
    with pytest.raises(RuntimeError):
        torch.device("cuda", -1)
    with pytest.raises(RuntimeError, match="negative"):
        cr.device("cuda", -1)


def test_device_equality_and_hash():
    assert cr.device("cuda:0") == cr.device("cuda", 0)
    assert cr.device("cuda") != cr.device("cuda:0")  # as torch: no index is not index 0
    assert torch.device("cuda") != torch.device("cuda:0")
    # chainrule also compares with strings (torch answers False); the hash agrees with it
    assert cr.device("cpu") == "cpu" and cr.device("cuda:1") == "cuda:1"
    assert cr.device("cpu") != "cuda" and cr.device("cpu") != "nonsense"
    assert {cr.device("cpu"): 1}["cpu"] == 1
    assert len({cr.device("cpu"), cr.device("cpu"), "cpu"}) == 1
    with pytest.raises(AttributeError):
        cr.device("cpu").type = "cuda"


def test_tensor_device_is_a_device():
    t = cr.zeros(2)
    assert isinstance(t.device, cr.device)
    assert repr(t.device) == repr(torch.zeros(2).device)
    assert t.device.type == "cpu" and t.device == "cpu"


FACTORIES = {
    "zeros": lambda d: cr.zeros(2, 3, device=d),
    "ones": lambda d: cr.ones(2, device=d),
    "empty": lambda d: cr.empty(4, device=d),
    "full": lambda d: cr.full((2,), 7.0, device=d),
    "arange": lambda d: cr.arange(5, device=d),
    "linspace": lambda d: cr.linspace(0, 1, 5, device=d),
    "eye": lambda d: cr.eye(3, device=d),
    "rand": lambda d: cr.rand(3, device=d),
    "randn": lambda d: cr.randn(3, device=d),
    "randint": lambda d: cr.randint(0, 5, (3,), device=d),
    "randperm": lambda d: cr.randperm(4, device=d),
    "zeros_like": lambda d: cr.zeros_like(cr.ones(2), device=d),
    "ones_like": lambda d: cr.ones_like(cr.ones(2), device=d),
    "empty_like": lambda d: cr.empty_like(cr.ones(2), device=d),
    "full_like": lambda d: cr.full_like(cr.ones(2), 3.0, device=d),
    "rand_like": lambda d: cr.rand_like(cr.ones(2), device=d),
    "randn_like": lambda d: cr.randn_like(cr.ones(2), device=d),
    "tensor": lambda d: cr.tensor([1.0, 2.0], device=d),
    "as_tensor": lambda d: cr.as_tensor([1.0, 2.0], device=d),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
@pytest.mark.parametrize("spec", ["cpu", "cpu:0", cr.device("cpu"), None])
def test_every_factory_takes_device(name, spec):
    assert FACTORIES[name](spec).device == "cpu"


@pytest.mark.skipif(HAS_CUPY, reason="CuPy is installed here")
@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_cuda_without_cupy_says_cupy_is_missing(name):
    with pytest.raises(RuntimeError, match="CuPy"):
        FACTORIES[name]("cuda")


@pytest.mark.parametrize("name", ["zeros", "randn", "tensor"])
def test_factories_refuse_devices_chainrule_cannot_run_on(name):
    with pytest.raises(RuntimeError, match="'mps'.*cpu.*cuda"):
        FACTORIES[name]("mps")


def _fake_cupy(count):
    """A stand-in CuPy module whose runtime sees ``count`` GPUs (or fails, for None)."""
    def get_count():
        if count is None:
            raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")
        return count
    runtime = types.SimpleNamespace(getDeviceCount=get_count)
    return types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=runtime))


@pytest.mark.parametrize("count", [0, None])
def test_cuda_with_cupy_but_no_gpu_says_the_gpu_is_missing(monkeypatch, count):
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(count))
    with pytest.raises(RuntimeError, match="CuPy is installed but .*GPU"):
        cr.zeros(2, device="cuda")
    assert cr.cuda.is_available() is False and cr.cuda.device_count() == 0


def test_set_default_device():
    try:
        cr.set_default_device("cpu")
        assert cr.get_default_device() == "cpu" and cr.zeros(1).device == "cpu"
        assert str(torch.get_default_device()) == str(cr.get_default_device())
        if not HAS_CUPY:
            with pytest.raises(RuntimeError, match="CuPy"):
                cr.set_default_device("cuda")
            assert cr.get_default_device() == "cpu"  # unchanged by the refusal
    finally:
        cr.set_default_device(None)


# --- cr.cuda, cr.backends, cr.accelerator: what programs probe ----------------------------

@pytest.mark.skipif(torch.cuda.is_available(), reason="compares the answers without a GPU")
def test_cuda_probes_answer_as_torch_without_a_gpu():
    assert cr.cuda.is_available() == torch.cuda.is_available() is False
    assert cr.cuda.device_count() == torch.cuda.device_count() == 0
    assert cr.cuda.is_bf16_supported() == torch.cuda.is_bf16_supported() is False
    assert cr.cuda.is_initialized() == torch.cuda.is_initialized()
    assert cr.cuda.manual_seed(0) is None and torch.cuda.manual_seed(0) is None
    assert cr.cuda.manual_seed_all(1) is None and torch.cuda.manual_seed_all(1) is None
    assert cr.cuda.empty_cache() is None
    for call in (cr.cuda.current_device, cr.cuda.synchronize, cr.cuda.get_device_name):
        with pytest.raises(RuntimeError, match="cuda"):
            call()


def test_backends_flags_as_torch():
    assert cr.backends.cuda.is_built() == HAS_CUPY
    assert cr.backends.mps.is_available() == torch.backends.mps.is_available()
    assert cr.backends.mps.is_built() == torch.backends.mps.is_built()
    for flag in ("enabled", "benchmark", "deterministic", "allow_tf32"):
        assert getattr(cr.backends.cudnn, flag) == getattr(torch.backends.cudnn, flag), flag
    assert cr.backends.cuda.matmul.allow_tf32 == torch.backends.cuda.matmul.allow_tf32
    assert cr.backends.cudnn.version() is None
    old = cr.backends.cudnn.benchmark
    cr.backends.cudnn.benchmark = True  # programs set it; it keeps what they set
    assert cr.backends.cudnn.benchmark is True
    cr.backends.cudnn.benchmark = old


@pytest.mark.skipif(torch.cuda.is_available(), reason="compares the answers without a GPU")
def test_accelerator_as_torch():
    assert cr.accelerator.is_available() == torch.accelerator.is_available()
    assert cr.accelerator.current_accelerator() == torch.accelerator.current_accelerator()
    assert cr.accelerator.device_count() == torch.accelerator.device_count()


# --- inference_mode ------------------------------------------------------------------------

def _states(lib):
    """What is_inference_mode_enabled / is_grad_enabled / requires_grad read at each step."""
    seen = []
    w = lib.ones(2, requires_grad=True)

    def look(y):
        seen.append((lib.is_inference_mode_enabled(), lib.is_grad_enabled(), y.requires_grad))

    look(w * 2)
    with lib.inference_mode():
        look(w * 2)
        with lib.inference_mode(False):
            look(w * 3)
        look(w * 4)
    look(w * 5)

    @lib.inference_mode()
    def called(x):
        look(x * 2)

    @lib.inference_mode
    def bare(x):
        look(x * 2)

    called(w)
    bare(w)
    look(w * 6)
    return seen


def test_inference_mode_states_match_torch():
    assert _states(cr) == _states(torch)


def test_inference_mode_restores_after_an_error():
    with pytest.raises(KeyError):
        with cr.inference_mode():
            raise KeyError
    assert not cr.is_inference_mode_enabled() and cr.is_grad_enabled()
