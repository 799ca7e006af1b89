"""The house's floors, read from the code (`ast`, nothing imported): the
building blocks under zoo/ never import the commands above them
(zoo.train, zoo.bench, zoo.chat, solutions), scale-out never imports the
trainer, nothing imports another package's private names, and there is
no import circle among the modules' top-level imports."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
COMMANDS = ("zoo.train", "zoo.bench", "zoo.chat", "zoo.cli", "solutions")


def modules():
    """{dotted name: path} of every module of zoo/ and solutions/."""
    found = {}
    for top in ("zoo", "solutions"):
        for path in (ROOT / top).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports(path, known, top_level_only=False):
    """[(imported module, imported name or None)] of one file's imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                if submodule in known:  # `from zoo.layers import masks`
                    found.append((submodule, None))
                else:
                    found.append((node.module, alias.name))
    return [(m, n) for m, n in found if m.split(".")[0] in ("zoo", "solutions")]


def package(name):
    return ".".join(name.split(".")[:2])


def test_no_upward_import_no_private_name_across_packages():
    known = modules()
    upward, private = [], []
    for name, path in known.items():
        for module, imported in imports(path, known):
            if module.startswith(COMMANDS) and not name.startswith(COMMANDS):
                upward.append(f"{name} -> {module}")
            if name.startswith("zoo.distributed") and module.startswith("zoo.train"):
                upward.append(f"{name} -> {module}")
            if (
                imported
                and imported.startswith("_")
                and package(module) != package(name)
            ):
                private.append(f"{name} -> {module}.{imported}")
    assert upward == [] and private == []


def circles(graph):
    """Every circle that a depth-first walk of `graph` meets (lists of names).

    Example:
    >>> circles({"a": {"b"}, "b": {"a"}, "c": set()})
    [['a', 'b', 'a']]
    """
    state, found = {}, []

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if state.get(other) == "open":
                found.append(stack[stack.index(other) :] + [other])
            elif other not in state:
                visit(other, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return found


def test_no_circle_among_top_level_imports():
    known = modules()
    graph = {
        name: {m for m, _ in imports(path, known, top_level_only=True) if m in known}
        - {name}
        for name, path in known.items()
    }
    assert circles(graph) == []


def test_the_checks_see_a_circle_and_an_upward_import(tmp_path):
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    module = tmp_path / "m.py"
    module.write_text("from zoo.train.engine import train_and_evaluate\n")
    assert imports(module, {}) == [("zoo.train.engine", "train_and_evaluate")]
