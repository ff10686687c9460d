"""How the package's namespaces are built: lazy exports and the old module paths.

Each package ``__init__`` names its public objects and the module defining them;
:func:`lazy_exports` imports a module only when one of its names is first used, so
``import cxinfluence`` stays fast (statsmodels, pyvis, seaborn and matplotlib load
only when a function needs them).

A package whose export has the name of one of its modules (``cxinfluence.findings``
the function, ``cxinfluence.models.findings`` the module) must always give the
export: Python's import system sets a submodule as an attribute of its package
after importing it, which would make the answer depend on import order. The
package's module class therefore refuses to let a submodule replace an export.

Modules moved in 0.2 (``cxinfluence.coverage`` -> ``cxinfluence.listening.coverage``)
stay importable under their old paths for one release, with a DeprecationWarning.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings

#: old module path (under ``cxinfluence.``) -> where the module lives now
MOVED = {
    "schema": "village.schema", "io": "village.io", "atomic": "village.files",
    "validate": "village.validate", "roles": "village.roles", "ids": "village.ids", "asof": "village.asof",
    "scale": "village.scale", "anonymize": "village.anonymize", "synth": "village.synth",
    "graph": "network.graph", "influence": "network.influence", "structure": "network.structure",
    "coverage": "listening",
    "metrics": "sentiment.metrics", "breakdowns": "sentiment.breakdowns", "journey": "sentiment.journey",
    "modelframe": "models.frame", "compare": "models.compare", "predict": "models.predict",
    "risk": "models.risk", "findings": "models.findings",
    "plots": "present.plots", "maps": "present.maps", "report": "present.report", "reporting": "present.content",
    "summary": "present.summary", "cli": "pipeline.cli", "progress": "pipeline.progress",
}


class _Namespace(types.ModuleType):
    """A package module whose exports cannot be replaced by a submodule of the same name."""

    def __setattr__(self, name, value):
        exports = self.__dict__.get("_EXPORTS", {})
        if isinstance(value, types.ModuleType) and name in exports:
            return  # keep the export; the submodule stays reachable through sys.modules
        super().__setattr__(name, value)


def lazy_exports(module_name: str, exports: dict[str, str]) -> None:
    """Give package ``module_name`` the lazily imported ``exports`` (name -> module).

    Module names in ``exports`` are relative to the package (``".coverage"``) or
    absolute under ``cxinfluence`` (``"listening.coverage"``).
    """
    module = sys.modules[module_name]
    module.__class__ = _Namespace
    module._EXPORTS = exports

    def __getattr__(name):
        if name in exports:
            target = exports[name]
            if not target.startswith("."):
                target = "cxinfluence." + target
            value = getattr(importlib.import_module(target, module_name), name)
            module.__dict__[name] = value
            return value
        if module_name == "cxinfluence" and name in MOVED:
            raise AttributeError(f"module 'cxinfluence' has no attribute {name!r} (the module moved to "
                                 f"cxinfluence.{MOVED[name]})")
        try:  # a subpackage or module of this package (``cxinfluence.network``)
            return importlib.import_module(f"{module_name}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{module_name}.{name}":
                raise
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(exports) | {k for k in module.__dict__ if not k.startswith("_")})

    module.__getattr__ = __getattr__
    module.__dir__ = __dir__
    module.__all__ = sorted(exports)


class _MovedLoader(importlib.abc.Loader):
    def __init__(self, new_name):
        self.new_name = new_name

    def create_module(self, spec):
        return importlib.import_module(self.new_name)

    def exec_module(self, module):
        pass


class _MovedFinder(importlib.abc.MetaPathFinder):
    """Finds ``cxinfluence.<old>`` as the module now at ``cxinfluence.<new>``."""

    def find_spec(self, fullname, path=None, target=None):
        prefix, _, old = fullname.partition(".")
        if prefix != "cxinfluence" or old not in MOVED:
            return None
        new_name = "cxinfluence." + MOVED[old]
        warnings.warn(
            f"the module {fullname} moved to {new_name}; import from there or use the public "
            f"names of `cxinfluence` (the old path goes away in the next release)",
            DeprecationWarning, stacklevel=3)
        return importlib.util.spec_from_loader(fullname, _MovedLoader(new_name))


def install_moved_finder() -> None:
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
