"""Safe serialization: ``save`` / ``load`` in the safetensors format, never pickle.

    >>> model = nn.Linear(3, 2)
    >>> cr.save(model.state_dict(), "model.safetensors")
    >>> model.load_state_dict(cr.load("model.safetensors"))
    IncompatibleKeys(missing_keys=[], unexpected_keys=[])
"""

from .serialization import SerializationError, TensorInfo, describe, load, save  # noqa: F401
