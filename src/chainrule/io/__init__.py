"""Safe serialization: ``save`` / ``load`` in the safetensors format, never pickle.

    >>> cr.save(model.state_dict(), "model.safetensors")
    >>> model.load_state_dict(cr.load("model.safetensors"))
"""

from .serialization import SerializationError, TensorInfo, describe, load, save  # noqa: F401
