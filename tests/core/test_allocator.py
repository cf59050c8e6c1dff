"""CPU memory reuse (emoportraits_core.allocator): freed activations keep their pages."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import resource, sys, torch
from emoportraits_core.allocator import keep_freed_memory
if sys.argv[1] == "tuned":
    assert keep_freed_memory()
faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt
# warm-up: the heap grows to its working size; with 2 rounds 1-4 of the measured blocks were
# sometimes still faulted in afresh (6 of 25 runs), with 6 rounds none (30 of 30)
for _ in range(6):
    x = torch.ones(16 * 2**20); del x  # 64 MB, the size of one activation of the release renderer
before = faults()
for _ in range(5):
    x = torch.ones(16 * 2**20); del x
print(faults() - before)
"""


def _faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    return int(done.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning")
def test_large_blocks_are_reused_instead_of_faulted_in_again():
    """Without the tuning each 64 MB block is mapped afresh (16384 page faults each time); with it,
    the same pages are reused (almost no faults)."""
    plain, tuned = _faults("plain"), _faults("tuned")
    assert plain > 5 * 16384 * 0.9, plain
    assert tuned < 0.05 * plain, (tuned, plain)


def test_the_command_line_applies_it():
    probe = (
        "import emoportraits_core.allocator as a\n"
        "from emoportraits_core.cli import main\n"
        "main(['plugins'])\n"
        "print('applied', a._done)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "applied [True]"
