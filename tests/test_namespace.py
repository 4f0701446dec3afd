"""The public namespace: cr.__all__ and dir(cr) hold public names only, no internal module
leaks into cr (cr.linalg is torch.linalg's namespace), every public package has an
__all__ whose names exist, and `import chainrule` loads viz, data and train only on use."""

import importlib
import os
import subprocess
import sys
import types

import pytest

import chainrule as cr

PUBLIC_MODULES = {"accelerator", "autograd", "backend", "backends", "cuda", "nn", "ops", "optim",
                  "random", "static", "viz", "data", "train", "io", "utils", "testing",
                  "distributions", "linalg"}
LEAKED_BEFORE = ("shape", "index", "reduce", "dual", "elementwise", "nn_ops",
                 "nn_extra", "sorting", "scan", "histograms", "inplace", "fused", "either",
                 "unary", "arithmetic", "activation", "aliases", "creation",
                 "promotion", "size", "comparison")
PACKAGES = ("chainrule", "chainrule.autograd", "chainrule.backend", "chainrule.data",
            "chainrule.data.datasets", "chainrule.io", "chainrule.nn", "chainrule.nn.functional",
            "chainrule.ops", "chainrule.ops.fused", "chainrule.optim", "chainrule.static",
            "chainrule.train",
            "chainrule.utils", "chainrule.viz", "chainrule.distributions", "chainrule.linalg")


def test_dir_and_all_hold_the_same_public_names():
    listed = [name for name in dir(cr) if not name.startswith("_")]
    assert listed == sorted(cr.__all__)
    assert len(set(cr.__all__)) == len(cr.__all__)


def test_no_internal_module_in_cr():
    modules = {name for name in cr.__all__ if isinstance(getattr(cr, name), types.ModuleType)}
    assert modules == PUBLIC_MODULES
    for name in LEAKED_BEFORE:
        assert name not in cr.__all__ and name not in dir(cr), name
    assert cr.linalg.__name__ == "chainrule.linalg"  # torch.linalg's, not an internal module
    for name in ("shape", "index", "reduce", "dual", "elementwise"):
        assert not hasattr(cr, name), name
    assert "np" not in dir(cr) and "annotations" not in dir(cr)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_package_has_an_all_of_existing_public_names(package):
    module = importlib.import_module(package)
    assert isinstance(module.__all__, list) and module.__all__
    for name in module.__all__:
        assert not name.startswith("_"), (package, name)
        assert hasattr(module, name), (package, name)
        assert name not in ("np", "math", "annotations", "Tensor") or package == "chainrule"


def test_every_op_is_also_cr_name_and_no_op_module_is():
    from chainrule import out_argument

    for name in cr.ops.__all__:
        public = getattr(cr, name)
        # the names that take torch's out= wrap the op (chainrule's own code calls it bare)
        op = public.__wrapped__ if name in out_argument.FUNCTIONS else public
        assert op is getattr(cr.ops, name), name
        assert not isinstance(getattr(cr.ops, name), types.ModuleType)
    assert cr.sum.__wrapped__ is cr.ops.sum
    assert cr.random is importlib.import_module("chainrule.random")


def test_nn_functional_reexports_its_family_files():
    F = cr.nn.functional
    families = [module for name, module in list(sys.modules.items())
                if name.startswith("chainrule.nn.functional.")]
    names = {module.__name__.rsplit(".", 1)[1] for module in families}
    assert names >= {"activation", "distance", "dropout", "linear", "loss", "normalization",
                     "sparse"}
    for module in families:
        for name in getattr(module, "__all__", ()):
            assert getattr(F, name) is getattr(module, name), name
            assert name in F.__all__, name
    assert all(callable(getattr(F, name)) for name in F.__all__)
    assert not {"np", "math", "Tensor", "backend", "annotations", "gather"} & set(F.__all__)
    assert F.relu is importlib.import_module("chainrule.nn.functional.activation").relu


def test_import_loads_viz_data_train_lazily():
    code = (
        "import sys, chainrule as cr\n"
        "lazy = ('chainrule.viz', 'chainrule.data', 'chainrule.train', 'chainrule.io')\n"
        "assert not [m for m in lazy if m in sys.modules], [m for m in lazy if m in sys.modules]\n"
        "assert 'viz' in dir(cr) and 'viz' in cr.__all__\n"
        "assert not hasattr(cr.Tensor, '_repr_svg_')   # the core never imports viz\n"
        "cr.viz\n"
        "assert 'chainrule.viz' in sys.modules and hasattr(cr.Tensor, '_repr_svg_')\n"
        "assert 'chainrule.train' not in sys.modules\n"
        "cr.train.fit\n"
        "assert 'chainrule.train' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=_env(), timeout=120)
    assert done.returncode == 0, done.stderr


def _env():
    """This checkout's chainrule first on the path of the child process."""
    src = os.path.dirname(os.path.dirname(cr.__file__))
    return {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
