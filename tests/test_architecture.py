"""The package's dependency rules (docs/architecture.rst), checked on the source.

* the core (contract, frame, halo, physics, observations, models, reconstruct, massmap, ...) never
  imports the training side (simulate, training, validation), not even inside a function;
* no import cycles between massrecon modules at import time (module-level imports).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "massrecon"

#: Sub-packages and modules of the training side: the core may not import them.
TRAINING_SIDE = ("simulate", "training", "validation")

#: Modules and sub-packages that may import the training side (they sit above it).
ABOVE = ("cli", "__main__", "datasets", "demo", "example_data", "examples")


def _module_name(path):
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _source_files():
    return sorted(p for p in ROOT.rglob("*.py") if "tests" not in p.relative_to(ROOT).parts)


def _imports(path, module_level_only):
    """Absolute names of the massrecon modules imported by ``path``."""
    tree = ast.parse(path.read_text())
    mod = _module_name(path)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    if module_level_only:  # imports under "if TYPE_CHECKING" or try/except at module level count too
        nodes = [n for top in tree.body for n in ast.walk(top)
                 if not isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    out = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.startswith("massrecon"):
                out.add(name)
                out.update(f"{name}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("massrecon"))
    return out


def _top(name):
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def _core_files():
    return [p for p in _source_files() if _top(_module_name(p)) not in TRAINING_SIDE + ABOVE]


@pytest.mark.parametrize("path", _core_files(), ids=lambda p: _module_name(p))
def test_core_does_not_import_training_side(path):
    bad = sorted(n for n in _imports(path, module_level_only=False) if _top(n) in TRAINING_SIDE)
    assert not bad, f"{_module_name(path)} (core) imports {bad}"


@pytest.mark.parametrize("module_level_only", [True, False], ids=["module-level", "all"])
def test_no_import_cycles(module_level_only):
    known = {_module_name(p) for p in _source_files()}
    graph = {}
    for p in _source_files():
        deps = set()
        for name in _imports(p, module_level_only=module_level_only):
            # "from .x import y": y may be a module or a name; keep the longest known module
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != _module_name(p):
                deps.add(name)
        graph[_module_name(p)] = deps
    # a package's __init__ importing its own modules is not a cycle: drop edges from a module to the
    # packages that contain it
    for mod, deps in graph.items():
        graph[mod] = {d for d in deps if not mod.startswith(d + ".")}
    state, stack, cycles = {}, [], []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                cycles.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


#: Longest function allowed, in lines of code (docstring, comments and blank lines not counted).
MAX_FUNCTION_LINES = 80


def _code_lines(source_lines, node):
    body = node.body
    doc = None
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        doc = (body[0].lineno, body[0].end_lineno)
    n = 0
    for lineno in range(node.lineno, node.end_lineno + 1):
        if doc and doc[0] <= lineno <= doc[1]:
            continue
        text = source_lines[lineno - 1].strip()
        if text and not text.startswith("#"):
            n += 1
    return n


def test_functions_are_short():
    long = []
    for path in _source_files():
        source = path.read_text()
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = _code_lines(lines, node)
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{_module_name(path)}.{node.name} ({n} lines)")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines of code: {long}"
