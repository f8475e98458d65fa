"""The layers the README promises, checked on the import graph of the source.

The graph is read with `ast` from the files themselves (nothing is imported to build it), so a rule
holds for code no test happens to run. An edge is an import statement: at module level, inside a
function (a lazy import is still a dependency) or under `if TYPE_CHECKING:` (for the rules; not for
cycles, since it never runs). `from a.b import c` is an edge to the module `a.b.c` when there is
one, else to `a.b`; third-party modules are nodes too (`sqlalchemy`, `streamlit`).

Each rule in `RULES` is a value with a `violations(graph)` method; add a rule by adding a value to
the list (a new kind of rule is a new small class with that method).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The project's own code: libraries, app package, screens and the router.
SOURCES = ("diagnostics", "admin", "desk", "pages", "app.py")


@dataclass(frozen=True, slots=True)
class Edge:
    importer: str
    imported: str
    line: int
    module_level: bool  # runs when the importer is imported (not in a function)
    type_checking: bool  # under `if TYPE_CHECKING:`: never runs

    @property
    def runs_on_import(self) -> bool:
        return self.module_level and not self.type_checking

    def __str__(self) -> str:
        return f"{self.importer} imports {self.imported} (line {self.line})"


@dataclass(slots=True, repr=False)
class ImportGraph:
    modules: dict[str, Path] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    def under(self, prefix: str) -> list[str]:
        return sorted(m for m in self.modules if _within(m, prefix))

    def edges_from(self, module: str) -> Iterator[Edge]:
        return (e for e in self.edges if e.importer == module)


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool, bool]]:
    """Every import statement with (module_level, type_checking)."""

    def walk(
        node: ast.AST, module_level: bool, type_checking: bool
    ) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool, bool]]:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, module_level, type_checking
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            for child in ast.iter_child_nodes(node):
                yield from walk(child, False, type_checking)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                yield from walk(child, module_level, True)
            for child in node.orelse:
                yield from walk(child, module_level, type_checking)
        else:
            for child in ast.iter_child_nodes(node):
                yield from walk(child, module_level, type_checking)

    yield from walk(tree, True, False)


def _targets(node: ast.Import | ast.ImportFrom, importer: str, graph: ImportGraph) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = importer.split(".")
        is_package = graph.modules[importer].name == "__init__.py"
        package = package if is_package else package[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, *([base] if base else [])])
    found = []
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        found.append(submodule if submodule in graph.modules else base)
    return list(dict.fromkeys(found))


def build_graph(root: Path = ROOT, sources: tuple[str, ...] = SOURCES) -> ImportGraph:
    graph = ImportGraph()
    for source in sources:
        place = root / source
        files = [place] if place.is_file() else sorted(place.rglob("*.py"))
        for path in files:
            graph.modules[_module_name(path, root)] = path
    for module, path in graph.modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, module_level, type_checking in _imports(tree):
            for target in _targets(node, module, graph):
                graph.edges.append(Edge(module, target, node.lineno, module_level, type_checking))
    return graph


class Rule(Protocol):
    importer: str  # the package or module the rule is about

    @property
    def name(self) -> str: ...

    def violations(self, graph: ImportGraph) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class Forbidden:
    """No module under `importer` imports anything under `imported`: not directly (any import
    statement), and not through other modules of the project (a chain of imports that run when the
    first is imported). Importing `a.b.c` also runs `a/__init__`; that is not followed here (the
    package's own imports are its rules'), and test_the_store_stays_unloaded_until_asked_for sees
    it at run time."""

    importer: str
    imported: tuple[str, ...]
    why: str

    @property
    def name(self) -> str:
        return f"{self.importer} never imports {', '.join(self.imported)}"

    def _forbidden(self, module: str) -> bool:
        return any(_within(module, banned) for banned in self.imported)

    def violations(self, graph: ImportGraph) -> list[str]:
        found = []
        for module in graph.under(self.importer):
            for edge in graph.edges_from(module):
                if self._forbidden(edge.imported):
                    found.append(str(edge))
            chain = self._chain(graph, module)
            if chain:
                found.append(" -> ".join(chain))
        return sorted(set(found))

    def _chain(self, graph: ImportGraph, start: str) -> list[str] | None:
        """The shortest chain of imports that run when `start` is imported and reach a forbidden
        module, or None."""
        came_from: dict[str, str | None] = {start: None}
        queue = [start]
        while queue:
            module = queue.pop(0)
            if self._forbidden(module):
                chain = [module]
                while (previous := came_from[chain[-1]]) is not None:
                    chain.append(previous)
                return chain[::-1]
            nexts = [e.imported for e in graph.edges_from(module) if e.runs_on_import]
            for following in nexts:
                if following not in came_from and (
                    following in graph.modules or self._forbidden(following)
                ):
                    came_from[following] = module
                    queue.append(following)
        return None


@dataclass(frozen=True, slots=True)
class OnlyImports:
    """Modules under `importer` import nothing but the standard library, `packages` (each with
    everything under it that is not private: no part of the name starts with `_`) and `exactly`
    (those modules themselves: a package's `__init__` exports, none of its modules). `about`: the
    top-level names the rule speaks for; an import of anything else is free (empty: every import)."""

    importer: str
    packages: tuple[str, ...]
    why: str
    exactly: tuple[str, ...] = ()
    about: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        allowed = [*(f"{p} (public)" for p in self.packages), *self.exactly]
        return f"{self.importer} imports only {', '.join(allowed)}"

    def _allowed(self, module: str) -> bool:
        top = module.split(".")[0]
        if self.about and top not in self.about:
            return True
        if not self.about and top in sys.stdlib_module_names:
            return True
        if module in self.exactly:
            return True
        private = any(part.startswith("_") for part in module.split("."))
        return not private and any(_within(module, p) for p in self.packages)

    def violations(self, graph: ImportGraph) -> list[str]:
        return sorted(
            str(edge)
            for module in graph.under(self.importer)
            for edge in graph.edges_from(module)
            if not edge.imported.startswith("__future__") and not self._allowed(edge.imported)
        )


# The project's own top-level packages, which the rules on pages speak for.
PROJECT = ("admin", "app", "desk", "diagnostics", "pages")

RULES: list[Rule] = [
    Forbidden(
        "diagnostics",
        ("admin", "desk", "pages", "app", "streamlit"),
        "the library serves notebooks and the CLI as well as the app: nothing above it",
    ),
    Forbidden(
        "diagnostics.dmarc.parse",
        ("sqlalchemy", "diagnostics.dmarc.store", "diagnostics.dmarc.explain"),
        "reports in, tables out: parsing needs neither a database nor DNS",
    ),
    Forbidden(
        "diagnostics.dmarc.explain",
        ("sqlalchemy", "diagnostics.dmarc.store"),
        "explaining reads the records it is given, from a parse or from the store",
    ),
    Forbidden(
        "diagnostics.dmarc.store",
        ("diagnostics.dmarc.explain",),
        "the store keeps records; what they mean is the explainer's, not the store's",
    ),
    Forbidden(
        "diagnostics.health",
        ("sqlalchemy", "diagnostics.dmarc.store"),
        "the health check is given the TLS reports' summary; reading the store is the caller's",
    ),
    Forbidden(
        "admin",
        ("desk", "pages", "app", "streamlit"),
        "the admin data serves the CLI and notebooks too: the app calls it, never the reverse",
    ),
    Forbidden(
        "desk",
        ("pages", "app"),
        "the app package serves the screens; a screen is never a library for it",
    ),
    OnlyImports(
        "pages",
        ("desk", "diagnostics"),
        "a screen uses the app package and the public API of the libraries, never their insides",
        exactly=("admin",),
        about=PROJECT,
    ),
    OnlyImports(
        "app",
        ("desk", "streamlit"),
        "the router routes: the sign-in gate, the navigation and the faults are desk's",
    ),
]


@pytest.fixture(scope="module")
def graph() -> ImportGraph:
    return build_graph()


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_import_contract(rule: Rule, graph: ImportGraph) -> None:
    assert rule.violations(graph) == []


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_every_rule_is_about_modules_that_exist(rule: Rule, graph: ImportGraph) -> None:
    # A rule whose importer was renamed away would pass forever.
    assert graph.under(rule.importer), f"no module is {rule.importer} or under it"


def _cycle(graph: ImportGraph, prefix: str) -> list[str] | None:
    """One import cycle among the modules under `prefix`, through imports that run (at module
    level or in a function, not under TYPE_CHECKING), or None."""
    inside = set(graph.under(prefix))
    following = {
        m: sorted({e.imported for e in graph.edges_from(m) if not e.type_checking} & inside)
        for m in inside
    }
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in following[module]:
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(inside):
        if module not in state:
            found = visit(module)
            if found:
                return found
    return None


def test_the_cycle_check_sees_a_cycle_hidden_in_a_function(tmp_path: Path) -> None:
    package = tmp_path / "lib"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from lib import b\n")
    (package / "b.py").write_text("def later():\n    from lib.a import x\n")
    (package / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import lib.a\n"
    )
    found = build_graph(tmp_path, ("lib",))
    assert _cycle(found, "lib") == ["lib.a", "lib.b", "lib.a"]
    assert Forbidden("lib.c", ("lib.a",), "").violations(found) == ["lib.c imports lib.a (line 3)"]


@pytest.mark.parametrize("package", ["diagnostics", "admin", "desk"])
def test_no_import_cycle(package: str, graph: ImportGraph) -> None:
    cycle = _cycle(graph, package)
    assert cycle is None, " -> ".join(cycle)


def test_only_imports_sees_a_private_module_a_submodule_and_the_stdlib(tmp_path: Path) -> None:
    for package in ("lib", "lib/_inside", "app"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "lib" / "public.py").write_text("")
    (tmp_path / "lib" / "_private.py").write_text("")
    (tmp_path / "lib" / "_inside" / "deep.py").write_text("")
    (tmp_path / "app" / "screen.py").write_text(
        "import os\nfrom lib import thing\nfrom lib.public import x\nfrom lib import _private\n"
        "from lib._inside.deep import y\nimport pandas\n"
    )
    found = build_graph(tmp_path, ("lib", "app"))
    rule = OnlyImports("app", ("lib",), "", about=("lib", "app"))
    assert rule.violations(found) == [
        "app.screen imports lib._inside.deep (line 5)",
        "app.screen imports lib._private (line 4)",
    ]
    exact = OnlyImports("app", (), "", exactly=("lib",), about=("lib", "app"))
    assert exact.violations(found) == [
        "app.screen imports lib._inside.deep (line 5)",
        "app.screen imports lib._private (line 4)",
        "app.screen imports lib.public (line 3)",
    ]
    strict = OnlyImports("app", ("lib",), "")  # about everything: pandas too, os is stdlib
    assert strict.violations(found)[-1] == "app.screen imports pandas (line 6)"


def _names_imported(path: Path) -> Iterator[tuple[str, str, int]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                yield node.module, alias.name, node.lineno


def test_pages_and_the_router_use_only_exported_names() -> None:
    """What a screen takes from admin, desk or diagnostics is in that module's `__all__` (a
    package's `__init__` exports, for admin): the rest is the module's own business."""
    found = []
    for path in [*sorted((ROOT / "pages").glob("*.py")), ROOT / "app.py"]:
        for module, name, line in _names_imported(path):
            if module.split(".")[0] not in ("admin", "desk", "diagnostics"):
                continue
            imported = importlib.import_module(module)
            if hasattr(imported, "__path__") and importlib.util.find_spec(f"{module}.{name}"):
                continue  # a module itself (`from diagnostics import providers`): the graph's rules
            if name in getattr(imported, "__all__", ()):
                continue
            found.append(f"{path.name}:{line}: {name} from {module}")
    assert found == []


def test_the_store_stays_unloaded_until_asked_for() -> None:
    """What the rules say, seen at run time: parsing and explaining load no SQLAlchemy, and the
    store's names in `diagnostics.dmarc` load it on first use."""
    code = (
        "import importlib, sys\n"
        "import diagnostics.dmarc.parse._aggregate\n"
        "assert 'sqlalchemy' not in sys.modules, 'parse'\n"
        "importlib.import_module('diagnostics.dmarc.explain')\n"
        "import diagnostics.dmarc as dmarc\n"
        "assert 'sqlalchemy' not in sys.modules, 'explain'\n"
        "assert dmarc.ReportStore.__name__ == 'ReportStore'\n"
        "assert 'sqlalchemy' in sys.modules, 'store'\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
