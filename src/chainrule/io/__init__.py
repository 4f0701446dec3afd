"""Safe serialization: ``save`` / ``load`` in the safetensors format, never pickle.

    >>> model = nn.Linear(3, 2)
    >>> cr.save(model.state_dict(), "model.safetensors")
    >>> model.load_state_dict(cr.load("model.safetensors"))
    <All keys matched successfully>
"""

from .serialization import SerializationError, TensorInfo, describe, load, save  # noqa: F401

from types import ModuleType as _ModuleType  # noqa: E402

# __all__: the public names imported above (a line added above joins it).
__all__ = sorted(
    {name for name, value in globals().items()
     if not name.startswith("_") and not isinstance(value, _ModuleType)}
)
