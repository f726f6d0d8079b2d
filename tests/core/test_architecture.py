"""The shape of the code: no import circles in app/, commits only at the edges, small modules.

These read the source with `ast`; they import nothing of the app.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(APP.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module of ours that `name` (a module or a name inside one) refers to."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    """Every module of app/ and the modules of app/ it imports, at module level or inside functions."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                # `from a.b import c` imports a.b.c when c is a module, else a name of a.b.
                names = [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                target = _resolve(name, modules)
                if target is not None and target != module:
                    imported.add(target)
        graph[module] = imported
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), and modules importing themselves."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert sorted(cycles(graph)) == [["a", "b", "c"], ["e"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_sees_imports_inside_functions():
    graph = import_graph()
    # app/__init__.py imports the blueprints inside create_app.
    assert "app.incidents.api" in graph["app"]
    assert "app.incidents.flows" in graph["app.incidents.api"]


def test_no_import_circles_in_app():
    """A circle, even through an import inside a function, means a workflow belongs in a flows module."""
    assert cycles(import_graph()) == []


# Where a transaction may be committed: the edges (see app/db.py's docstring).
COMMIT_PLACES = {
    ("app/db.py", "commit"),  # the one function the edges commit with
    ("app/db.py", "call_outside"),  # commit what was recorded, then call the outside system
    ("app/db.py", "outcome_session"),  # the outcome of a call made after the edge's commit
    ("app/db.py", "job_session"),  # a job's or a CLI command's end
    ("app/core/api.py", "_commit_if_open"),  # the JSON API's `endpoint`
    ("app/core/pages.py", "_commit_if_open"),  # the pages' `page`
    ("app/auth/context.py", "_authenticate"),  # the sign-in step before every request
}


def _calls_named(tree: ast.AST, name: str) -> list[tuple[str, int]]:
    """(enclosing function, line) of every call of `name(...)` or `x.name(...)`."""
    found: list[tuple[str, int]] = []

    def walk(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                walk(child, child.name)
                continue
            if isinstance(child, ast.Call):
                func = child.func
                called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
                if called == name:
                    found.append((function, child.lineno))
            walk(child, function)

    walk(tree, "<module>")
    return found


def commit_calls() -> set[tuple[str, str]]:
    calls = set()
    for path in sorted(APP.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        for function, _line in _calls_named(ast.parse(path.read_text(), relative), "commit"):
            calls.add((relative, function))
    return calls


def test_the_commit_finder_sees_commits():
    tree = ast.parse("def view():\n    commit(session)\n\ndef job():\n    session.commit()\n")
    assert _calls_named(tree, "commit") == [("view", 2), ("job", 5)]


def test_commits_only_at_the_edges():
    """Services, flows, routes and pages flush; only the edges commit."""
    calls = commit_calls()
    assert calls - COMMIT_PLACES == set()
    assert ("app/core/pages.py", "_commit_if_open") in calls


def _route_views(path: Path) -> list[ast.FunctionDef]:
    tree = ast.parse(path.read_text(), str(path))
    views = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and any(
            isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr in ("get", "post", "route")
            and isinstance(d.func.value, ast.Name) and d.func.value.id == "bp"
            for d in node.decorator_list
        ):
            views.append(node)
    return views


def test_every_page_has_the_page_edge():
    """Each HTML view is committed by `page`; all but sign-in need a signed-in user."""
    pages = sorted(APP.glob("*/*pages.py"))
    assert pages
    for path in pages:
        for view in _route_views(path):
            names = [d.id for d in view.decorator_list if isinstance(d, ast.Name)]
            assert "page" in names, f"{path.relative_to(ROOT)}:{view.name} is not decorated with @page"
            if path.parent.name != "auth":
                assert "login_required" in names, f"{path.relative_to(ROOT)}:{view.name} has no @login_required"


MAX_LINES = 400  # about 350 is the aim; this leaves slack


def test_modules_stay_small():
    """A module over the limit holds several concerns: split it along its seams."""
    sizes = {path.relative_to(ROOT).as_posix(): len(path.read_text().splitlines()) for path in APP.rglob("*.py")}
    assert {path: lines for path, lines in sizes.items() if lines > MAX_LINES} == {}


def _trees() -> dict[str, ast.Module]:
    return {path.relative_to(ROOT).as_posix(): ast.parse(path.read_text(), str(path)) for path in sorted(APP.rglob("*.py"))}


def test_no_two_classes_share_a_name():
    """A name means one thing in app/: a response schema and a dataclass do not share one."""
    where: dict[str, list[str]] = {}
    for relative, tree in _trees().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                where.setdefault(node.name, []).append(f"{relative}:{node.lineno}")
    assert {name: places for name, places in where.items() if len(places) > 1} == {}


def test_an_incidents_retrospective_is_read_through_the_relationship():
    """`incident.retrospective`, not a query of its own in each place that needs it."""
    pattern = re.compile(r"select\(\s*Retrospective\s*\)\s*\.where\(\s*Retrospective\.incident_id")
    found = [
        f"{path.relative_to(ROOT)}:{text[:match.start()].count(chr(10)) + 1}"
        for path in sorted(APP.rglob("*.py"))
        for text in [path.read_text()]
        for match in pattern.finditer(text)
    ]
    assert found == []


def enum_values(trees: dict[str, ast.Module]) -> dict[str, tuple[str, set[str]]]:
    """Each StrEnum of app/: its module and its values."""
    found = {}
    for relative, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(isinstance(b, ast.Name) and b.id == "StrEnum" for b in node.bases):
                values = {
                    stmt.value.value for stmt in node.body
                    if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant)
                    and isinstance(stmt.value.value, str)
                }
                found[node.name] = (relative, values)
    return found


def literal_status_groups(tree: ast.Module, enums: dict[str, tuple[str, set[str]]]) -> list[tuple[int, str]]:
    """(line, enum) of each tuple, list, set or Literal[...] of two or more of one enum's values written as text."""
    found = []
    for node in ast.walk(tree):
        # Literal["a", "b"] holds its values in a tuple too.
        if not isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            continue
        elements = node.elts
        words = {e.value for e in elements if isinstance(e, ast.Constant) and isinstance(e.value, str)}
        if len(elements) < 2 or len(words) != len(elements):
            continue
        for name, (_module, values) in enums.items():
            if words <= values:
                found.append((node.lineno, name))
    return found


def test_the_status_scan_finds_written_out_statuses():
    enums = {"ActionStatus": ("m.py", {"open", "in_progress", "done", "wont_do"})}
    tree = ast.parse('A = ("open", "in_progress")\nB: Literal["done", "wont_do"]\nC = ("open", "x")\nD = [ActionStatus.OPEN, "done"]\n')
    assert literal_status_groups(tree, enums) == [(1, "ActionStatus"), (2, "ActionStatus")]


def test_statuses_are_written_once_as_enums():
    """Statuses, severities, visibility and priorities are spelt out only in their StrEnum's module."""
    trees = _trees()
    enums = enum_values(trees)
    assert {"ActionStatus", "Priority", "SyncStatus", "Severity", "IncidentStatus", "Visibility", "RetroStatus"} <= set(enums)
    found = [
        f"{relative}:{line} ({name})"
        for relative, tree in trees.items()
        for line, name in literal_status_groups(tree, enums)
        if relative != enums[name][0]
    ]
    assert found == []
