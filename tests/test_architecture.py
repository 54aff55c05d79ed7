"""The architecture of DESIGN.md §3, checked from the source (issue 17).

The import graph of the project's packages is built with `ast` from every ``.py`` file under them: module-level
imports and the imports inside functions alike (a function-level import hides a cycle, it does not remove it).
`from x import y` counts as an import of the module ``x.y`` when that is a module, else of ``x``. Imports under
``if TYPE_CHECKING:`` never run, but they count like the others: a cycle that only the types need is still a
tangle (a `typing.Protocol` on the lower side breaks it, as `ledger.index.EventSource` does).

Three rules:
- no cycle among modules;
- the package arrows point one way: ``errors`` (the error tree's root) and ``identifiers`` (the ID number and USCC
  leaf) import none of the others,
  ``store`` (the database) only it, ``ledger`` (the chain) those two, ``qr`` those three, ``zero_errand`` and
  ``credit`` those four, and ``api`` (the HTTP and command-line surfaces) any of them;
- no module imports another module's private (``_``-prefixed) name.

`scripts/` holds tools run by path (the page-constant generator), not a package: nothing imports it.

Known exceptions are listed by name below; each is a debt issue 17 pays off. A new one fails the test.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("api", "errors", "identifiers", "store", "ledger", "credit", "zero_errand", "qr")

# Which other project packages each package may import (DESIGN.md §3: api → {zero_errand, credit} → {qr, ledger}).
# `identifiers` is a leaf below them all: the code rules of GB 11643 and GB 32100, which every package may check.
# `errors` is the root of the domain's error tree (ZelError and its categories), a leaf like `identifiers`.
# `store` (tables, migrations, the PII vault) sits under `ledger`, whose anchor workers read the outbox from it.
ALLOWED = {
    "errors": set(),
    "identifiers": set(),
    "store": {"errors", "identifiers"},
    "ledger": {"errors", "identifiers", "store"},
    "qr": {"errors", "identifiers", "ledger"},
    "zero_errand": {"errors", "identifiers", "store", "qr", "ledger"},
    "credit": {"errors", "identifiers", "store", "qr", "ledger"},
    "api": {"errors", "identifiers", "store", "ledger", "qr", "zero_errand", "credit"},
}

# Sideways arrows the code has today, (importing module, imported module). None left: the credit report goes
# through the one certificate builder its caller hands in (zero_errand.builder), and the code validators moved to
# the leaf `identifiers`. Add one here only with the issue that removes it.
KNOWN_SIDEWAYS: set[tuple[str, str]] = set()

# `from module import _private` across modules today, (importing module, imported module, name). None left: the
# trivial ones were made public (qr.payload.compact_signature / expand_signature, api.cli.platform.open_store,
# api.cli.certs.cli_context). Add one here only with the issue that removes it.
KNOWN_PRIVATE: set[tuple[str, str, str]] = set()


@dataclass(frozen=True)
class Edge:
    """One import statement: `source` imports `target` (a project module) at `line`."""

    source: str
    target: str
    line: int
    type_checking: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "__pycache__" not in path.parts:
                modules[module_name(path)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, type_checking: bool = False):
    """Every Import/ImportFrom node under `tree`, with whether it sits in an `if TYPE_CHECKING:` body."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, type_checking
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), True)
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), type_checking)
        else:
            yield from _imports(node, type_checking)


def _existing(name: str, modules: dict[str, Path]) -> str | None:
    """`name` or its longest prefix that is a project module."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


@dataclass
class Graph:
    modules: dict[str, Path]
    edges: list[Edge]
    private: list[tuple[str, str, str, int]]  # (source, target module, name, line)


def build_graph() -> Graph:
    modules = project_modules()
    edges: list[Edge] = []
    private: list[tuple[str, str, str, int]] = []
    for source, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        package = source if path.name == "__init__.py" else source.rpartition(".")[0]
        for node, type_checking in _imports(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    target = _existing(alias.name, modules)
                    if target and target != source:
                        edges.append(Edge(source, target, node.lineno, type_checking))
                continue
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                base_name = ".".join(base + ([node.module] if node.module else []))
            else:
                base_name = node.module or ""
            for alias in node.names:
                submodule = f"{base_name}.{alias.name}"
                if submodule in modules:
                    target = submodule
                else:
                    target = _existing(base_name, modules)
                    if target and alias.name.startswith("_") and not alias.name.startswith("__"):
                        if target != source:
                            private.append((source, target, alias.name, node.lineno))
                if target and target != source:
                    edges.append(Edge(source, target, node.lineno, type_checking))
    return Graph(modules, edges, private)


def find_cycle(nodes: list[str], edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle (as a path a → … → a) in the directed graph, or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(nodes, WHITE)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = GREY
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if colour[nxt] == GREY:
                return stack[stack.index(nxt) :] + [nxt]
            if colour[nxt] == WHITE and (found := visit(nxt)):
                return found
        stack.pop()
        colour[node] = BLACK
        return None

    for node in sorted(nodes):
        if colour[node] == WHITE and (found := visit(node)):
            return found
    return None


@pytest.fixture(scope="module")
def graph() -> Graph:
    return build_graph()


def test_the_graph_sees_the_project(graph: Graph) -> None:
    """The builder finds the modules and resolves `from package import submodule` and function-level imports."""
    assert {"ledger.client", "credit.ledger", "api.http.app", "ledger.network", "store.models"} <= set(graph.modules)
    pairs = {(e.source, e.target) for e in graph.edges}
    assert ("api.cli", "ledger.network") in pairs  # an import inside a function
    assert ("credit.profile", "credit.inspections") in pairs  # `from credit import inspections`
    assert ("api.http.app", "api.http.openapi") in pairs  # `from api.http import openapi, pages`
    assert ("api.http.app", "api") not in pairs  # ... is no import of the package itself
    marked = [type_only for _, type_only in _imports(ast.parse("import a\nif TYPE_CHECKING:\n    import b\n"))]
    assert marked == [False, True]  # an import under `if TYPE_CHECKING:` is told apart (and still counted)


def test_no_module_cycles(graph: Graph) -> None:
    adjacency: dict[str, set[str]] = {}
    where: dict[tuple[str, str], int] = {}
    for edge in graph.edges:  # type-only imports too: a cycle that only types need is still a tangle
        adjacency.setdefault(edge.source, set()).add(edge.target)
        where.setdefault((edge.source, edge.target), edge.line)
    cycle = find_cycle(list(graph.modules), adjacency)
    if cycle:
        steps = [f"{a} (line {where[(a, b)]}) -> {b}" for a, b in zip(cycle, cycle[1:], strict=False)]
        pytest.fail("import cycle: " + " ; ".join(steps))


def test_package_arrows_point_one_way(graph: Graph) -> None:
    wrong = []
    for edge in graph.edges:
        source_pkg, target_pkg = edge.source.split(".")[0], edge.target.split(".")[0]
        if source_pkg == target_pkg or target_pkg in ALLOWED[source_pkg]:
            continue
        if (edge.source, edge.target) in KNOWN_SIDEWAYS:
            continue
        wrong.append(
            f"{edge.source}:{edge.line} imports {edge.target} ({source_pkg} may import only "
            f"{', '.join(sorted(ALLOWED[source_pkg])) or 'itself'})"
        )
    assert not wrong, "arrows against DESIGN.md §3:\n" + "\n".join(sorted(set(wrong)))


def test_known_sideways_arrows_still_exist(graph: Graph) -> None:
    """An exception that is gone must leave the list, so it cannot quietly come back."""
    pairs = {(e.source, e.target) for e in graph.edges}
    assert KNOWN_SIDEWAYS <= pairs, f"remove from KNOWN_SIDEWAYS: {sorted(KNOWN_SIDEWAYS - pairs)}"


def test_no_private_names_imported_across_modules(graph: Graph) -> None:
    found = {(source, target, name) for source, target, name, _ in graph.private}
    new = sorted(
        {f"{s}:{line} imports {n} from {t}" for s, t, n, line in graph.private if (s, t, n) not in KNOWN_PRIVATE}
    )
    assert not new, "private names imported across modules:\n" + "\n".join(new)
    assert KNOWN_PRIVATE <= found, f"remove from KNOWN_PRIVATE: {sorted(KNOWN_PRIVATE - found)}"


def test_the_cycle_finder_reports_a_cycle() -> None:
    assert find_cycle(["a", "b", "c"], {"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle(["a", "b"], {"a": {"b"}}) is None


def test_identifiers_is_a_standard_library_leaf() -> None:
    """`identifiers` imports nothing of ours (ALLOWED) and nothing installed: every package may import it, a
    script or a bench without the service's dependencies too."""
    outside = []
    for path in sorted((ROOT / "identifiers").rglob("*.py")):
        for node, _ in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level:
                continue
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            outside += [
                f"{path.name}:{node.lineno} {n}" for n in names if n.split(".")[0] not in sys.stdlib_module_names
            ]
    assert not outside, "identifiers imports beyond the standard library:\n" + "\n".join(outside)
