"""Module: the base of every layer and model, with PyTorch's registration rules and state_dict.

Assigning a ``Parameter`` or a ``Module`` to an attribute registers it; ``register_buffer``
registers state that is saved but not learned (BatchNorm's running statistics).

    >>> class MLP(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc1 = nn.Linear(4, 8)
    ...         self.fc2 = nn.Linear(8, 2)
    ...     def forward(self, x):
    ...         return self.fc2(self.fc1(x).relu())
    >>> list(MLP().state_dict())
    ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
"""

from __future__ import annotations

import itertools
from collections import OrderedDict, namedtuple

import numpy as np

from .. import backend
from ..autograd import grad_mode
from ..errors import MissingMethod
from ..tensor import Tensor
from .parameter import Buffer, Parameter


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns; printed as torch prints it when every key matched."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

# Hooks called around every module's forward (``register_module_forward_hook``).
_global_forward_pre_hooks: "OrderedDict[int, object]" = OrderedDict()
_global_forward_hooks: "OrderedDict[int, object]" = OrderedDict()
# ids of forward hooks (global or per module) registered with always_call=True
_always_called: set = set()
_hook_ids = itertools.count()


class RemovableHandle:
    """Returned by the ``register_*_hook`` methods; ``handle.remove()`` takes the hook away."""

    def __init__(self, hooks_dict, *flag_sets):
        self._hooks_dict = hooks_dict
        self._flag_sets = flag_sets  # sets of hook ids with options (with_kwargs, always_call)
        self.id = next(_hook_ids)

    def remove(self):
        self._hooks_dict.pop(self.id, None)
        for flags in self._flag_sets:
            flags.discard(self.id)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def register_module_forward_pre_hook(hook) -> RemovableHandle:
    """Call ``hook(module, args)`` before the forward of every Module (all instances)."""
    handle = RemovableHandle(_global_forward_pre_hooks)
    _global_forward_pre_hooks[handle.id] = hook
    return handle


def register_module_forward_hook(hook, *, always_call=False) -> RemovableHandle:
    """Call ``hook(module, args, output)`` after the forward of every Module (all instances).

    With ``always_call=True`` it is also called (with ``output=None``) when forward raises.
    """
    handle = RemovableHandle(_global_forward_hooks, _always_called)
    _global_forward_hooks[handle.id] = hook
    if always_call:
        _always_called.add(handle.id)
    return handle


def _to_array(value, name):
    """The array behind a state_dict value: a chainrule Tensor, a NumPy array, a torch tensor."""
    if isinstance(value, Tensor):
        return value._array
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor, without torch
        return value.detach().cpu().numpy()
    if isinstance(value, np.ndarray) or (hasattr(value, "dtype") and hasattr(value, "shape")):
        return value  # an array of any device (copied to the parameter's device on load)
    try:
        return np.asarray(value)
    except Exception as exc:  # noqa: BLE001 - re-raised with the key's name
        raise TypeError(f"load_state_dict: value for {name!r} is a {type(value).__name__}, "
                        "not an array or tensor") from exc


def _addindent(text, spaces):
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


class Module:
    """Base class for all layers and models: subclass it and define ``forward``.

    Calling a module runs its forward pre-hooks, ``forward`` and forward hooks.
    """

    training: bool
    _version = 1  # state_dict format version, as PyTorch's metadata

    def __init__(self):
        # object.__setattr__: our own __setattr__ needs these dicts to exist first.
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        # ids of the hooks registered with_kwargs=True (they also get and may return kwargs)
        object.__setattr__(self, "_forward_hooks_with_kwargs", set())
        object.__setattr__(self, "_forward_pre_hooks_with_kwargs", set())

    def forward(self, *args, **kwargs):
        raise MissingMethod(f'Module [{type(self).__name__}] is missing the required "forward" '
                            "function: define forward()")

    # --- calling ---------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if not (self._forward_pre_hooks or self._forward_hooks or _global_forward_pre_hooks
                or _global_forward_hooks):
            return self.forward(*args, **kwargs)
        for hid, hook in (*_global_forward_pre_hooks.items(), *self._forward_pre_hooks.items()):
            if hid in self._forward_pre_hooks_with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError("a forward pre-hook registered with_kwargs=True must "
                                           f"return None or (args, kwargs), got {result!r:.80}")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        try:
            output = self.forward(*args, **kwargs)
        except BaseException:
            if _always_called:
                self._call_always_hooks(args, kwargs)
            raise
        for hid, hook in (*_global_forward_hooks.items(), *self._forward_hooks.items()):
            if hid in self._forward_hooks_with_kwargs:
                result = hook(self, args, kwargs, output)
            else:
                result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def _call_always_hooks(self, args, kwargs):
        """forward raised: run the always_call hooks (output None); their errors are dropped so
        that the original exception is the one the user sees."""
        for hid, hook in (*_global_forward_hooks.items(), *self._forward_hooks.items()):
            if hid not in _always_called:
                continue
            try:
                if hid in self._forward_hooks_with_kwargs:
                    hook(self, args, kwargs, None)
                else:
                    hook(self, args, None)
            except Exception:  # noqa: BLE001, S110 - the forward's exception wins
                pass

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Call ``hook(module, args)`` before forward; a returned value replaces ``args``.

        With ``with_kwargs=True``: ``hook(module, args, kwargs)`` -> None or ``(args, kwargs)``.
        """
        handle = RemovableHandle(self._forward_pre_hooks, self._forward_pre_hooks_with_kwargs)
        self._forward_pre_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs.add(handle.id)
        if prepend:
            self._forward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """Call ``hook(module, args, output)`` after forward; a returned value replaces output.

        With ``with_kwargs=True`` the hook is ``hook(module, args, kwargs, output)``; with
        ``always_call=True`` it also runs (output None) when forward raises.
        """
        handle = RemovableHandle(self._forward_hooks, self._forward_hooks_with_kwargs,
                                 _always_called)
        self._forward_hooks[handle.id] = hook
        if always_call:
            _always_called.add(handle.id)
        if with_kwargs:
            self._forward_hooks_with_kwargs.add(handle.id)
        if prepend:
            self._forward_hooks.move_to_end(handle.id, last=False)
        return handle

    # --- registration ------------------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            if isinstance(value, (Parameter, Module)):
                raise AttributeError(
                    f"cannot assign {type(value).__name__} {name!r} before Module.__init__() "
                    "is called (call super().__init__() first)")
            object.__setattr__(self, name, value)
            return
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            self._forget(name)
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            self._forget(name)
            modules[name] = value
        elif isinstance(value, Buffer):
            self._forget(name)
            self.register_buffer(name, value, value.persistent)
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} as parameter {name!r} "
                                "(nn.Parameter or None expected)")
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} as child module {name!r} "
                                "(nn.Module or None expected)")
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign a {type(value).__name__} as buffer {name!r} "
                                "(Tensor or None expected)")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name):
        self.__dict__.pop(name, None)
        self._parameters.pop(name, None)
        self._buffers.pop(name, None)
        self._modules.pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __getattr__(self, name):
        # Only called when normal lookup fails: parameters, buffers and children live here.
        d = self.__dict__
        if "_parameters" not in d and name.startswith("_"):
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}': "
                                 "was super().__init__() called in its __init__?")
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    @staticmethod
    def _check_name(kind, name):
        if not isinstance(name, str):
            raise TypeError(f"{kind} name must be a string, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"{kind} name must be non-empty and contain no '.', got {name!r}")

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter or None) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name("parameter", name)
        if name in self.__dict__ and name not in self._parameters:
            raise KeyError(f"attribute {name!r} already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign a {type(param).__name__} as parameter {name!r} "
                            "(nn.Parameter or None expected)")
        if param is not None and param.grad_fn is not None:
            raise ValueError(f"cannot register the non-leaf tensor {name!r} as a parameter; "
                             "parameters must be leaves (use .detach())")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Register ``tensor`` as state that is saved (if ``persistent``) but not learned."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name("buffer", name)
        if name in self.__dict__ and name not in self._buffers:
            raise KeyError(f"attribute {name!r} already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign a {type(tensor).__name__} as buffer {name!r} "
                            "(Tensor or None expected)")
        if isinstance(tensor, (Buffer, Parameter)):
            tensor = Tensor._of(tensor._array)  # a buffer is a plain tensor
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        """Register ``module`` (or None) as a child under ``name``."""
        self._check_name("module", name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if name in self.__dict__ and name not in self._modules:
            raise KeyError(f"attribute {name!r} already exists")
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target):
        """The submodule at dotted path ``target`` (``''`` is the module itself)."""
        mod = self
        for part in target.split(".") if target else []:
            if part not in mod._modules or mod._modules[part] is None:
                raise AttributeError(f"{type(mod).__name__} has no submodule {part!r} "
                                     f"(looking up {target!r})")
            mod = mod._modules[part]
        return mod

    def get_parameter(self, target):
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if name not in mod._parameters:
            raise AttributeError(f"{type(mod).__name__} has no parameter {name!r}")
        return mod._parameters[name]

    # --- iteration ---------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(dotted name, module) for this module and every descendant, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = f"{prefix}.{name}" if prefix else name
            yield from module.named_modules(memo, sub, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, store, prefix, recurse, remove_duplicate=True):
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for mod_prefix, module in modules:
            for name, value in getattr(module, store).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, Parameter) pairs; a parameter shared by two layers comes once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # --- modes and bulk changes ----------------------------------------------------------------
    def train(self, mode=True):
        """Training mode (Dropout drops, BatchNorm uses batch statistics); returns self."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode must be a bool, got {mode!r}")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Reset every parameter's ``.grad`` (to None by default, else to zeros)."""
        if grad_mode.state.tracer is not None:  # a step of a traced (compiled) training step
            from ..autograd import tracing  # noqa: PLC0415
            tracing.note("zero_grad", list(self.parameters()), node=self, set_to_none=set_to_none)
        for p in self.parameters():
            if p._grad is None:
                continue
            if set_to_none:
                p._grad = None
            else:
                p._grad._array[...] = 0

    def apply(self, fn):
        """Call ``fn(m)`` on every submodule (children first) and on self; returns self.

            >>> model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
            >>> _ = model.apply(lambda m: nn.init.zeros_(m.bias) if isinstance(m, nn.Linear)
            ...                 else None)
            >>> model[0].bias
            Parameter containing:
            tensor([0., 0.], requires_grad=True)
        """
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def _apply_arrays(self, convert):
        """Replace each parameter's and buffer's array by ``convert(array)``; objects stay."""
        for m in self.modules():
            for p in m._parameters.values():
                if p is None:
                    continue
                p._array = convert(p._array)
                if p.grad is not None:
                    p.grad._array = convert(p.grad._array)
            for name, b in m._buffers.items():
                if b is not None:
                    b._array = convert(b._array)
        return self

    def to(self, *args, **kwargs):
        """``model.to(cr.float64)``, ``model.to("cpu")``: floats change dtype, ints stay."""
        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        if kwargs:
            raise TypeError(f"to: unexpected arguments {sorted(kwargs)}")
        for a in args:
            if backend.is_device_like(a):
                device = a
            elif isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            else:
                dtype = a
        dtype = backend.to_dtype(dtype)
        if dtype is not None and dtype.kind != "f":
            raise TypeError(f"to: a module can only be cast to a floating dtype, got {dtype}")
        device = None if device is None else backend.normalize_device(device)

        def convert(arr):
            if device is not None and backend.device_of(arr) != device:
                arr = backend.to_device(arr, device)
            if dtype is not None and arr.dtype.kind == "f" and arr.dtype != dtype:
                arr = arr.astype(dtype)
            return arr
        return self._apply_arrays(convert)

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def half(self):
        return self.to(np.float16)

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    # --- state_dict ----------------------------------------------------------------------------
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """An ordered dict of every parameter and persistent buffer under PyTorch's dotted keys.

        The tensors share memory with the module's (detached unless ``keep_vars``).
        """
        if destination is None:
            destination = OrderedDict()
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy parameters and buffers from ``state_dict`` (Tensors, NumPy arrays, torch tensors).

        Shape mismatches always raise; missing and unexpected keys raise when ``strict``.
        Values are cast to each parameter's dtype; with ``assign=True`` the parameters take the
        given arrays themselves (no copy, their dtype kept). Returns ``(missing_keys,
        unexpected_keys)``.
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"load_state_dict: expected a dict, got {type(state_dict).__name__}")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = []
        staged = []
        for key, target in own.items():
            if key not in state_dict:
                continue
            arr = _to_array(state_dict[key], key)
            if tuple(arr.shape) != tuple(target.shape):
                mismatched.append(f"size mismatch for {key}: copying a param with shape "
                                  f"{tuple(arr.shape)} from checkpoint, the shape in current "
                                  f"model is {tuple(target.shape)}.")
                continue
            staged.append((target, arr))
        errors = list(mismatched)
        if strict:
            # PyTorch's wording, so that a user's habits (and searches) carry over
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: "
                                 + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                                 + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        # All checks passed: only now touch the model, so a failed load changes nothing.
        with grad_mode.no_grad():
            for target, arr in staged:
                if assign:
                    target._array = arr
                else:  # the saved values, on the device of the module's tensor
                    arr = backend.to_device(arr, backend.device_of(target._array))
                    target._array[...] = arr.astype(target._array.dtype, copy=False)
                target._version += 1
        return _IncompatibleKeys(missing, unexpected)

    # --- printing ------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr line (override in layers)."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for name, module in self._modules.items():
            lines.append(f"({name}): " + _addindent(repr(module), 2))
        main = self._get_name() + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                main += lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def summary(self, *inputs, input_size=None, dtype=None, file=None):
        """Print a table of layers, output shapes and parameter counts; return the stats.

            >>> stats = nn.Sequential(nn.Linear(10_000, 300)).summary(input_size=(1, 10_000))
            Sequential summary
            ...
            0      Linear  (1, 300)      3,000,300  weight 300x10000 + bias 300
            ...
            >>> stats.total_params
            3000300

        With an example input (or ``input_size``) it runs one forward pass under ``no_grad``
        to record each layer's output shape; without, it lists the parameters only.
        """
        from .summary import model_summary  # noqa: PLC0415 - printing lives apart
        return model_summary(self, inputs, input_size, dtype, file)
