"""How the repository hangs together: the benchmarks stand on the package, never on the tests."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_bench_does_not_import_tests():
    bad = []
    for path in sorted((REPO / "bench").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            bad += [f"{path.name}: {n}" for n in names if n == "tests" or n.startswith(("tests.", "conftest"))]
    assert not bad, "bench/ imports test helpers (move what it needs into dockerlearn/ or bench/):\n" + "\n".join(bad)
