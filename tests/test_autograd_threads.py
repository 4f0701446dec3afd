"""Grad mode is per thread, as in PyTorch: one thread's no_grad never reaches another."""

import threading

import numpy as np

import chainrule as cr
from chainrule import nn


def test_no_grad_loop_in_one_thread_never_affects_another():
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            with cr.no_grad():
                pass

    server = threading.Thread(target=serve)
    server.start()
    try:
        w = cr.ones(3, requires_grad=True)
        for _ in range(2000):
            assert cr.is_grad_enabled()
            assert (w * 2).grad_fn is not None
    finally:
        stop.set()
        server.join()
    assert cr.is_grad_enabled()


def test_a_new_thread_starts_with_grad_enabled_even_inside_no_grad():
    seen = []
    with cr.no_grad():
        t = threading.Thread(target=lambda: seen.append(cr.is_grad_enabled()))
        t.start()
        t.join()
        assert not cr.is_grad_enabled()
    assert seen == [True]


def test_one_context_object_shared_by_threads_restores_each():
    ctx = cr.no_grad()
    barrier = threading.Barrier(4)
    after = []

    def work():
        with ctx:
            barrier.wait()
            assert not cr.is_grad_enabled()
        after.append(cr.is_grad_enabled())

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert after == [True] * 4


def _train(seed, steps=30):
    g = cr.Generator().manual_seed(seed)
    x = cr.randn(64, 8, generator=g)
    y = cr.randint(0, 3, (64,), generator=g)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3))
    with cr.no_grad():
        for p in model.parameters():
            p.copy_(cr.randn(*p.shape, generator=g) * 0.3)
    opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [p.detach().numpy().copy() for p in model.parameters()]


def test_two_threads_training_two_models_equal_training_them_one_after_the_other():
    expected = [_train(1), _train(2)]
    results = [None, None]
    errors = []

    def run(i):
        try:
            results[i] = _train(i + 1)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for (losses, params), (elosses, eparams) in zip(results, expected):
        assert losses == elosses
        for p, e in zip(params, eparams):
            np.testing.assert_array_equal(p, e)


def test_a_hundred_threads_serving_under_no_grad_never_build_a_graph():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    x = cr.randn(5, 4)
    outputs, errors = [], []
    barrier = threading.Barrier(100)

    def serve():
        try:
            barrier.wait()
            for _ in range(5):
                with cr.no_grad():
                    out = model(x)
                outputs.append(out)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=serve) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(outputs) == 500
    assert all(o.grad_fn is None and not o.requires_grad for o in outputs)
    assert cr.is_grad_enabled()
    assert model(x).grad_fn is not None


def test_one_shared_context_restores_each_threads_own_previous_mode():
    # Threads enter one no_grad object from different modes and leave it in either order:
    # each must get its own previous mode back (a single saved slot would mix them up).
    ctx = cr.no_grad()
    for first_out in ("on", "off"):
        entered, leave = threading.Barrier(2), {n: threading.Event() for n in ("on", "off")}
        after = {}

        def work(name):
            with cr.set_grad_enabled(name == "on"):
                with ctx:
                    entered.wait()
                    leave[name].wait()
                    inside = cr.is_grad_enabled()
                after[name] = (inside, cr.is_grad_enabled())

        threads = {n: threading.Thread(target=work, args=(n,)) for n in ("on", "off")}
        for t in threads.values():
            t.start()
        second = "off" if first_out == "on" else "on"
        leave[first_out].set()
        threads[first_out].join()
        leave[second].set()
        threads[second].join()
        assert after == {"on": (False, True), "off": (False, False)}, first_out


def test_a_context_reentered_in_one_thread_restores_in_order():
    ctx = cr.no_grad()
    with ctx:
        with cr.enable_grad():
            with ctx:
                assert not cr.is_grad_enabled()
            assert cr.is_grad_enabled()
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()

