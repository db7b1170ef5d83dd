"""og-chat benchmarks: `python -m benchmarks` runs them all and prints one table.

Importing the package compiles this checkout's `og_chat` to bytecode, as `pip install .`
does at install time. The benchmarks run the checkout's code (`PYTHONPATH`), and where
`PYTHONDONTWRITEBYTECODE` is set (it is on our VMs) every spawned process would otherwise
compile all of og_chat from source: 0.2 s of each first paint that no installed user pays.
"""

import compileall
from pathlib import Path

compileall.compile_dir(Path(__file__).resolve().parents[1] / "og_chat", quiet=1)
