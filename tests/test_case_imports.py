"""The cases services import one way (issue 9 §7): no module imports another that imports it
back, at the top or inside a function (sweep → transitions → effects → guards, deadlines)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "gridlink.cases.services"
ROOT = Path(__file__).resolve().parents[1] / "gridlink" / "cases" / "services"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith(PACKAGE + "."):
                found.add(node.module.removeprefix(PACKAGE + "."))
            elif node.module == PACKAGE:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(
                a.name.removeprefix(PACKAGE + ".") for a in node.names
                if a.name.startswith(PACKAGE + ".")
            )  # fmt: skip
    return found


def test_no_import_circle_among_the_case_services():
    modules = {p.stem for p in ROOT.glob("*.py") if p.stem != "__init__"}
    graph = {m: _imports(ROOT / f"{m}.py") & modules for m in modules}
    assert graph["sweep"] >= {"transitions", "deadlines"}  # the graph is really read

    def cycle_from(start: str) -> list[str] | None:
        todo = [(start, [start])]
        while todo:
            node, path = todo.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return [*path, nxt]
                if nxt not in path:
                    todo.append((nxt, [*path, nxt]))
        return None

    cycles = [c for m in sorted(modules) if (c := cycle_from(m))]
    assert not cycles, cycles
