"""The import graph of ``wavesim.train``: a DAG of module-level imports, and torch only where training runs.

Read from the sources (``ast``), not by importing them, so an import hidden
inside a function cannot dodge the check.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "wavesim" / "train"
LIBRARY = [ROOT / "wavesim" / "train", ROOT / "wavesim" / "reproduce", ROOT / "wavesim" / "cli" / "train.py"]
#: Modules the command line reads while it builds its parser: they must import without torch.
TORCH_FREE = ("wavesim.train", "wavesim.train.contrastive", "wavesim.train.waves", "wavesim.train.settings",
              "wavesim.train.run_log", "wavesim.reproduce")
#: torch's global random states (``torch.Generator().manual_seed`` seeds a generator of one's own).
GLOBAL_RNGS = ("torch", "torch.random", "torch.cuda", "torch.mps")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _imported(node: ast.AST, module: str) -> list[str]:
    """The wavesim.train modules an import statement of ``module`` names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.startswith("wavesim.train")]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        anchor = module.split(".") if _is_package(module) else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - node.level + 1]
        base = ".".join(anchor + ([base] if base else []))
    if not base.startswith("wavesim.train"):
        return []
    return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _module_level_imports(tree: ast.Module) -> list[ast.AST]:
    """Import statements that run when the module is imported (also inside module-level if/try blocks)."""
    found, pending = [], list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, (ast.If, ast.Try)) and not _type_checking_only(node):
            pending.extend(ast.iter_child_nodes(node))
    return found


def _graph() -> dict[str, set[str]]:
    """Module -> the modules its import runs, parent packages included (a package runs its ``__init__`` first)."""
    graph = {}
    for module, path in MODULES.items():
        edges = set()
        for node in _module_level_imports(ast.parse(path.read_text())):
            for target in _imported(node, module):
                parts = target.split(".")
                for depth in range(2, len(parts) + 1):
                    ancestor = ".".join(parts[:depth])
                    # a package already being imported (one the importing module lies in) is not run again
                    if ancestor in MODULES and not (module + ".").startswith(ancestor + "."):
                        edges.add(ancestor)
        graph[module] = edges - {module}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_train_modules_import_each_other_without_a_cycle():
    graph = _graph()
    assert "wavesim.train.protocols.next_frame" in graph and graph["wavesim.train.ddp"]  # the graph was read
    assert _cycle(graph) is None, f"import cycle: {' -> '.join(_cycle(graph))}"


def test_the_cycle_check_sees_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_train_module_imports_another_inside_a_function():
    hidden = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        top = {id(node) for node in _module_level_imports(tree)}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top \
                    and _imported(node, module) and not any(_type_checking_only(n) for n in tree.body
                                                             if node in ast.walk(n)):
                hidden.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not hidden, "imports of wavesim.train modules inside functions:\n" + "\n".join(hidden)


def test_library_code_never_seeds_torch_globally():
    calls = []
    for root in LIBRARY:
        for path in sorted(root.rglob("*.py")) if root.is_dir() else [root]:
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                        and node.func.attr.startswith("manual_seed") and ast.unparse(node.func.value) in GLOBAL_RNGS:
                    calls.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not calls, "global seeding (pass a torch.Generator instead):\n" + "\n".join(calls)


@pytest.mark.skipif(sys.platform == "win32", reason="a subprocess with the repository on its path")
def test_the_command_line_and_the_torch_free_modules_load_without_torch():
    code = ("import sys\nimport wavesim\nfrom wavesim.cli import build_parser\nbuild_parser()\n"
            + "".join(f"import {name}\n" for name in TORCH_FREE)
            + "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if m.startswith('torch'))[:5]\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
