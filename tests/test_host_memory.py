"""The allocator tuning of ``chainrule.backend.host_memory``: a step's freed arrays are reused
by the next step instead of coming back as fresh (page-faulted) memory."""

import os
import subprocess
import sys

import pytest

import chainrule as cr

# Twelve 1 MiB arrays made and freed, as a step does; the page faults of 20 such steps.
_STEPS = """
import resource
import numpy as np
import chainrule

def step():
    arrays = [np.ones(1 << 18, np.float32) for _ in range(12)]
    del arrays

for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before,
      chainrule.backend.host_memory.tuned())
"""


def _faults(setting):
    env = dict(os.environ, CHAINRULE_HOST_MALLOC=setting)
    out = subprocess.run([sys.executable, "-c", _STEPS], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    return int(out[0]), out[1] == "True"


def _glibc():
    try:
        os.confstr("CS_GNU_LIBC_VERSION")
        return True
    except (ValueError, OSError, AttributeError):
        return False


@pytest.mark.skipif(not _glibc(), reason="the tuning is glibc's mallopt")
def test_freed_arrays_are_reused_not_refaulted():
    tuned_faults, tuned = _faults("")
    system_faults, system_tuned = _faults("system")
    assert tuned and not system_tuned
    # glibc's own thresholds give the heap's top back after every step (12 MiB > its 2 MiB
    # trim threshold once 1 MiB blocks were freed): ~3,000 faults a step. Tuned: none.
    assert system_faults > 20 * 1000
    assert tuned_faults < 200


def test_import_tunes_where_glibc_is():
    assert cr.backend.host_memory.tuned() == (
        _glibc() and os.environ.get("CHAINRULE_HOST_MALLOC", "").lower() != "system")
