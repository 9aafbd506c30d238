"""Generate the API reference's pages from each public namespace's ``__all__``.

Before autosummary reads the sources, this writes one page per public
namespace of wavesim into ``docs/api/`` (git-ignored): the namespace's own
docstring, then an autosummary table of the names it exports. A name that
several namespaces export is documented once, in the namespace it is
defined under (``wavesim.models.AmacrineParams``, not ``wavesim.AmacrineParams``),
and listed with a link in the others. A new public name therefore appears
without editing the docs, and numpydoc's ``GL08`` check fails the build when
it has no docstring.

The namespaces: ``wavesim``, each public subpackage of it (found on disk, so
a new subpackage appears too), each public top-level module that declares
``__all__``, and the modules in ``EXTRA_MODULES`` where they exist.
"""

from __future__ import annotations

import importlib
import inspect
import re
import pkgutil
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

#: Where the subpackages come in the reference; others follow in alphabetical order.
ORDER = ("wavesim", "wavesim.models", "wavesim.run", "wavesim.backends", "wavesim.io", "wavesim.analysis",
         "wavesim.fit", "wavesim.sweep", "wavesim.data", "wavesim.train", "wavesim.reproduce",
         "wavesim.cluster", "wavesim.generate", "wavesim.testing", "wavesim.warm_cache", "wavesim.cli")
#: Public top-level modules documented though they declare no ``__all__`` (their own public names are shown).
EXTRA_MODULES = ("wavesim.run", "wavesim.testing")
#: Compiled kernels: internal to the engines (docs/adding_a_model.md describes a rule module).
SKIPPED = ("wavesim.kernels",)

KINDS = (("exception", "Exceptions"), ("class", "Classes"), ("function", "Functions"), ("data", "Constants"))


def namespaces() -> list[str]:
    """The documented namespaces, in reference order."""
    import wavesim

    found = ["wavesim"]
    for info in pkgutil.iter_modules(wavesim.__path__):
        name = f"wavesim.{info.name}"
        if info.name.startswith("_") or name in SKIPPED:
            continue
        if info.ispkg or name in EXTRA_MODULES or _declares_all(name):
            found.append(name)
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(found, key=lambda name: (rank.get(name, len(ORDER)), name))


def _declares_all(module_name: str) -> bool:
    """Whether a module's source assigns ``__all__`` (read without importing it)."""
    spec = importlib.util.find_spec(module_name)
    return spec is not None and spec.origin is not None and "\n__all__" in Path(spec.origin).read_text()


def public_names(module) -> list[str]:
    """``module.__all__``, or the public classes and functions it defines itself."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return sorted(name for name, obj in vars(module).items()
                  if not name.startswith("_") and (inspect.isclass(obj) or inspect.isfunction(obj))
                  and obj.__module__ == module.__name__)


def kind_of(obj) -> str:
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if callable(obj) and not isinstance(obj, (dict, list, tuple)):
        return "function"
    return "data"


def home_namespace(name: str, obj, exporters: list[str]) -> str:
    """The namespace that documents ``obj``: the longest one its defining module lies under.

    Constants carry no module; the deepest namespace that exports them documents them.
    """
    module = getattr(obj, "__module__", None) if kind_of(obj) != "data" else None
    if module:
        under = [ns for ns in exporters if module == ns or module.startswith(ns + ".")]
        if under:
            return max(under, key=len)
        return exporters[0]
    return max(exporters, key=lambda ns: ns.count("."))


def collect() -> dict[str, list[tuple[str, object, str]]]:
    """For each namespace, its names as ``(name, object, home namespace)``."""
    modules = {ns: importlib.import_module(ns) for ns in namespaces()}
    entries = {ns: [(n, getattr(m, n)) for n in public_names(m)] for ns, m in modules.items()}
    exporters: dict[tuple[str, int], list[str]] = {}
    for ns, items in entries.items():
        for name, obj in items:
            exporters.setdefault((name, id(obj)), []).append(ns)
    return {ns: [(name, obj, home_namespace(name, obj, exporters[(name, id(obj))])) for name, obj in items]
            for ns, items in entries.items()}


def _first_line(obj) -> str:
    """The docstring's summary line, its roles shown as code (they are relative to another module)."""
    doc = inspect.getdoc(obj) if kind_of(obj) != "data" else None
    line = doc.strip().splitlines()[0] if doc else ""
    return re.sub(r":[\w:]+:`~?([^`<]*?)(?: <[^>]*>)?`", r"``\1``", line)


def namespace_page(ns: str, items) -> str:
    """The reST of one namespace's page."""
    title = f"``{ns}``"
    lines = [title, "=" * len(title), "", f".. automodule:: {ns}", "   :no-members:", "", f".. currentmodule:: {ns}", ""]
    own = [(name, obj) for name, obj, home in items if home == ns]
    for kind, heading in KINDS:
        names = sorted(name for name, obj in own if kind_of(obj) == kind)
        if not names:
            continue
        template = "autosummary/class.rst" if kind in ("class", "exception") else "autosummary/base.rst"
        lines += [heading, "-" * len(heading), "", ".. autosummary::", "   :toctree: generated/",
                  f"   :template: {template}", "   :nosignatures:", ""]
        lines += [f"   {name}" for name in names] + [""]
    elsewhere = sorted((name, obj, home) for name, obj, home in items if home != ns)
    if elsewhere:
        heading = "Also importable from here"
        lines += [heading, "-" * len(heading), "",
                  f"``{ns}`` re-exports these names; each is documented in its own namespace.", "",
                  ".. list-table::", "   :widths: 30 70", ""]
        for name, obj, home in elsewhere:
            lines += [f"   * - :py:obj:`{name} <{home}.{name}>`", f"     - {_first_line(obj) or ' '}"]
        lines.append("")
    return "\n".join(lines)


def write_pages(app, config) -> None:
    """Write ``api/index.rst`` and one page per namespace (the ``config-inited`` hook)."""
    out = Path(app.srcdir) / "api"
    out.mkdir(exist_ok=True)
    pages = collect()
    index = ["API reference", "=============", "",
             "Generated from each namespace's ``__all__``: every public name of wavesim, with its docstring.",
             "The command line has its own page: :doc:`../cli`.", "",
             ".. toctree::", "   :maxdepth: 1", ""]
    index += [f"   {ns}" for ns in pages] + [""]
    _write_if_changed(out / "index.rst", "\n".join(index))
    for ns, items in pages.items():
        _write_if_changed(out / f"{ns}.rst", namespace_page(ns, items))
    logger.info(f"wavesim_api: {len(pages)} namespaces, {sum(len(v) for v in pages.values())} names")


def _write_if_changed(path: Path, text: str) -> None:
    # An unchanged page keeps its mtime, so an incremental build does not reread it.
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _import_path(path: str):
    """The object a dotted path names (the longest importable module, then attributes), or None."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for part in parts[cut:]:
                obj = getattr(obj, part)
        except AttributeError:
            return None
        return obj
    return None


def _contexts(env, node, fromdocname: str) -> list[str]:
    """Prefixes a relative target may be under: the page's module and class, and the documented object's own."""
    contexts = [""]
    module, cls = node.get("py:module"), node.get("py:class")
    if module:
        contexts += [f"{module}.{cls}." if cls else None, f"{module}."]
    documented = fromdocname.rsplit("/", 1)[-1]
    obj = _import_path(documented) if fromdocname.startswith("api/") else None
    home = getattr(obj, "__module__", None) if obj is not None and not inspect.ismodule(obj) else None
    if home:
        if inspect.isclass(obj):
            contexts.append(f"{home}.{obj.__qualname__}.")
        contexts.append(f"{home}.")
    return [c for c in contexts if c is not None]


def _documented_names(env) -> dict[int, str]:
    """id of each documented class and function -> its documented name (built once per build)."""
    cache = getattr(env, "_wavesim_documented", None)
    if cache is None:
        cache = {}
        for name, entry in env.get_domain("py").objects.items():
            if entry.objtype in ("class", "exception", "function", "data"):
                obj = _import_path(name)
                if obj is not None and not isinstance(obj, (str, int, float, bool, type(None))):
                    cache.setdefault(id(obj), name)
        env._wavesim_documented = cache
    return cache


def _declared_on(cls, attr: str) -> bool:
    """Whether instances of ``cls`` have ``attr`` though the class has no such attribute (a field, ``self.attr``)."""
    if not inspect.isclass(cls):
        return False
    for klass in cls.__mro__:
        if attr in getattr(klass, "__annotations__", {}):
            return True
    try:
        return f"self.{attr} " in inspect.getsource(cls) or f"self.{attr}=" in inspect.getsource(cls)
    except (OSError, TypeError):
        return False


def _locate(path: str):
    """``(object, dotted path)`` that ``path`` names, allowing a last part that only instances have; else None."""
    obj = _import_path(path)
    if obj is not None:
        return obj, path
    owner_path, _, attr = path.rpartition(".")
    owner = _import_path(owner_path) if owner_path else None
    if owner is not None and _declared_on(owner, attr):
        return owner, path
    return None


def _anywhere(name: str) -> list[str]:
    """Dotted paths of the one object called ``name`` in the imported wavesim modules (empty unless exactly one)."""
    import sys

    found = {}
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith("wavesim") and module is not None and hasattr(module, name):
            obj = getattr(module, name)
            if getattr(obj, "__module__", module_name).startswith("wavesim"):
                found.setdefault(id(obj), f"{module_name}.{name}")
    return list(found.values()) if len(found) == 1 else []


def resolve_internal(app, env, node, contnode):
    """Resolve a Python reference by what it names, not how it is spelled (the ``missing-reference`` hook).

    Docstrings name objects by their defining module (``wavesim.analysis.fronts.local_speeds``) or relative
    to it (``Summary.to_dict``); the reference documents them under their public namespace. Such a reference
    links to the public page (a member with no entry of its own links to its class). A reference to an object
    that exists but is not public is shown as code without a link. A reference to nothing stays unresolved,
    so the build fails on it.
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~.")
    first, _, rest = target.partition(".")
    paths = [context + target for context in _contexts(env, node, node.get("refdoc", ""))]
    paths += [f"{owner}.{rest}" if rest else owner for owner in _anywhere(first)]
    py = env.get_domain("py")
    documented = _documented_names(env)
    for path in paths:
        if _locate(path) is None:
            continue
        parts = path.split(".")
        for cut in range(len(parts), 0, -1):
            owner = _import_path(".".join(parts[:cut]))
            public = documented.get(id(owner)) if owner is not None else None
            if public is None:
                continue
            for candidate in (".".join([public, *parts[cut:]]), public):
                if candidate in py.objects:
                    return py.resolve_xref(env, node.get("refdoc"), app.builder, "obj", candidate, node, contnode)
        return contnode
    return None


def setup(app):
    app.connect("config-inited", write_pages)
    app.connect("missing-reference", resolve_internal)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
