"""py_ecc's pairing modules, loaded on their first use instead of at import.

py-evm's precompiles (BLS12-381 since Prague, BN128) and eth-keyfile (through eth-account,
which web3 and eth-tester import) import py_ecc, whose pairing modules compute their
Frobenius tables when they are imported: ≈ 0.5 s on a quiet machine (two-thirds of it
BLS12-381's `exptable`), a third of the devnet's start. The devnet never computes a
pairing: only the pairing precompiles (0x08, 0x0f) and BLS signature checks do.

`install()` puts a finder first on `sys.meta_path` for exactly the modules in DEFERRED.
Each is created as usual, but its code runs only when it is first used: the names its
importers take at import time (`from .optimized_pairing import final_exponentiate,
pairing`) are bound to forwarders that run the module and call the real function; any
other attribute runs it too (`importlib.util.LazyLoader`'s rule). The module's code is
not changed and runs whole, into the same module object, so nothing else sees a
difference. If py_ecc renames a module, it is simply imported eagerly again; if an
importer takes another name, that name runs the module at once (slower, never wrong).
tests/devnet/test_deferred_imports.py checks both the deferral and the results.

Only og-chat's own processes install it: the devnet package when it is imported, and the
TUI before it loads eth-account (`tui/deferred.preload`: 0.5 s of the 1.7 s it took, on the
path to the first call). The SDK never does: a program using it keeps its imports as they are.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

DEFERRED: dict[str, tuple[str, ...]] = {
    "py_ecc.optimized_bls12_381.optimized_pairing": ("final_exponentiate", "pairing"),
    "py_ecc.bls12_381.bls12_381_pairing": ("final_exponentiate", "pairing"),
    "py_ecc.optimized_bn128.optimized_pairing": ("final_exponentiate", "pairing"),
    "py_ecc.bn128.bn128_pairing": ("final_exponentiate", "pairing"),
}
"""Module → the names its importers take when they are imported (all functions)."""

_RUN = threading.RLock()
"""Held while a deferred module's code runs (one at a time; re-entrant for its imports)."""


class _Deferred(ModuleType):
    """A deferred module before its code ran: a missing attribute runs it first."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # import machinery probing (__path__, __file__, …)
            raise AttributeError(name)
        run_deferred(self)
        return getattr(self, name)


class _Loader(importlib.abc.Loader):
    """Wraps a module's own loader: create it as usual, run its code on first use."""

    def __init__(self, real: importlib.abc.Loader, names: Sequence[str]) -> None:
        self.real = real
        self.names = names

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.real.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__class__ = _Deferred
        for name in self.names:
            setattr(module, name, _forwarder(module, name))


class _Finder(importlib.abc.MetaPathFinder):
    """Finds the DEFERRED modules as the path finder does, with a `_Loader` around theirs."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        names = DEFERRED.get(fullname)
        if names is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _Loader(spec.loader, names)
        return spec


def _forwarder(module: ModuleType, name: str) -> Callable[..., Any]:
    def forward(*args: Any, **kwargs: Any) -> Any:
        run_deferred(module)
        real = module.__dict__[name]
        if real is forward:
            raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")
        return real(*args, **kwargs)

    forward.__name__ = forward.__qualname__ = name
    forward.__module__ = module.__name__
    return forward


def run_deferred(module: ModuleType) -> None:
    """Run a deferred module's code now (once; a module already run is left alone)."""
    with _RUN:
        if not isinstance(module, _Deferred):
            return
        plain: ModuleType = module
        plain.__class__ = ModuleType
        spec = module.__spec__
        assert spec is not None and isinstance(spec.loader, _Loader)
        spec.loader.real.exec_module(module)


def is_deferred(module: ModuleType) -> bool:
    """True while a module's code has not run yet."""
    return isinstance(module, _Deferred)


def install() -> None:
    """Defer the DEFERRED modules imported from now on (idempotent)."""
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
