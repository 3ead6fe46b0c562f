"""The house reads in an hour: no block inside a function nests more than three deep,
and each module stays near 300 lines (issue 15's "done when")."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("data_contracts", "pipelines", "model", "api")
MAX_DEPTH = 3
# "About 300 lines": a module a little over is still one screen-full of one job.
MAX_LINES = 320
BLOCKS = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try,
          ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Match)


def _is_elif(parent: ast.AST, child: ast.AST) -> bool:
    """`elif` is an `If` in its parent's `orelse`: the same level, not one deeper."""
    return isinstance(parent, ast.If) and isinstance(child, ast.If) and parent.orelse == [child]


def block_depth(node: ast.AST) -> int:
    """How deep blocks nest below `node` (a function's body at depth 0)."""
    deepest = 0
    for child in ast.iter_child_nodes(node):
        depth = block_depth(child)
        if isinstance(child, BLOCKS) and not _is_elif(node, child):
            depth += 1
        deepest = max(deepest, depth)
    return deepest


def _modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
                  if "migrations" not in path.parts)


def test_block_depth_counts_nested_blocks_and_not_elif() -> None:
    flat = ast.parse("def f(x):\n if x:\n  pass\n elif x:\n  pass\n").body[0]
    deep = ast.parse("def f(x):\n for a in x:\n  if a:\n   with a:\n    while a:\n     pass\n")
    assert block_depth(flat) == 1
    assert block_depth(deep.body[0]) == 4


def test_no_function_nests_more_than_three_deep() -> None:
    too_deep = [f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({block_depth(node)})"
                for path in _modules() for node in ast.walk(ast.parse(path.read_text()))
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                and block_depth(node) > MAX_DEPTH]
    assert not too_deep, too_deep


def test_modules_stay_near_three_hundred_lines() -> None:
    long = [f"{path.relative_to(ROOT)} ({n})" for path in _modules()
            if (n := len(path.read_text().splitlines())) > MAX_LINES]
    assert not long, long
