"""Every write in the package goes through `warroom.store.execute.execute`.

Read from the syntax tree, not grepped. `Store.append` needs an incident and the events (two
arguments, or keywords); the other `append`s in the package take one argument (a list's, a
deque's) or one and a `style=` (Rich's Text). Anything else named `append` counts as a store
append: a two-argument call, keywords, `*args`, the bound method passed around, or
`getattr(x, "append")`.
"""

from __future__ import annotations

import ast

from .conftest import REPO

PACKAGE = REPO / "warroom"
THE_PLACE = ("warroom/store/execute.py", "execute")
SKIPPED: tuple[str, ...] = ()


def _store_appends(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, enclosing function) of every store-like append in a module."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Call) and _is_other_append(child):
                # A list's or a Text's append: look inside its receiver and arguments only.
                assert isinstance(child.func, ast.Attribute)
                for part in (child.func.value, *child.args, *child.keywords):
                    visit(part, function)
                continue
            if isinstance(child, ast.Attribute) and child.attr == "append":
                found.append((child.lineno, function))
            if _is_getattr_append(child):
                found.append((child.lineno, function))
            visit(child, function)

    visit(tree, "<module>")
    return found


def _is_other_append(call: ast.Call) -> bool:
    return (isinstance(call.func, ast.Attribute) and call.func.attr == "append"
            and len(call.args) == 1 and not isinstance(call.args[0], ast.Starred)
            and all(k.arg == "style" for k in call.keywords))


def _is_getattr_append(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "getattr" and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant) and node.args[1].value == "append")


def _appends_in_package() -> dict[str, list[tuple[int, str]]]:
    out: dict[str, list[tuple[int, str]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if rel.startswith(SKIPPED):
            continue
        found = _store_appends(ast.parse(path.read_text(encoding="utf-8"), rel))
        if found:
            out[rel] = found
    return out


def test_store_append_is_called_from_execute_only() -> None:
    found = _appends_in_package()
    places = {(rel, function) for rel, hits in found.items() for _, function in hits}
    assert places == {THE_PLACE}, {
        rel: hits for rel, hits in found.items() if rel != THE_PLACE[0]}


def test_the_check_sees_what_it_must() -> None:
    """The detector itself: store appends in their several shapes, other appends left alone."""
    source = '''
async def writer(store, self, events, things, text):
    things.append(1)
    self.rows.append((1, 2))
    text.append("title", style="bold")
    await store.append("INC-1", events)
    await self.store.append(None, events)
    await store.append("INC-1", events, expected_version=3)
    await store.append(*events)
    do = store.append
    other = getattr(store, "append")
    things.append(await store.append(None, events))
'''
    hits = _store_appends(ast.parse(source))
    assert [line for line, _ in hits] == [6, 7, 8, 9, 10, 11, 12]
    assert {function for _, function in hits} == {"writer"}
