"""Importing meow_model settles numpy's lazily loaded `random` submodule once, up front.

numpy loads `numpy.random` on first attribute access; threads that make that first access at the
same moment can recurse in the lazy loader (RecursionError), which is what a server's first
concurrent seeded requests would do. The check runs in a fresh interpreter, where nothing else
has imported `numpy.random` yet.
"""

import subprocess
import sys


def test_importing_meow_model_loads_numpy_random_up_front():
    code = (
        "import sys\n"
        "import numpy\n"
        "assert 'numpy.random' not in sys.modules, 'numpy itself now loads it: this test is moot'\n"
        "import meow_model\n"
        "print('numpy.random' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
