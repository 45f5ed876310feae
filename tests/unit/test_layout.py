"""The library's layout rules, checked on the source with `ast` (pure Python, no Spark).

- no file under libs/footfall over 400 lines, no function or method over 60 lines;
- no module imports a job module (the `run`/`command` modules of the CLI's jobs): jobs are built
  from the library, never the other way round. Only `footfall run` (pipeline/run.py) calls the
  other jobs' `run`, and cli.py dispatches to them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

LIBRARY = Path(__file__).resolve().parents[2] / "libs" / "footfall"
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60
JOB_MODULES = frozenset({
    "footfall.pipeline.reference",
    "footfall.pipeline.ingest",
    "footfall.pipeline.compute",
    "footfall.pipeline.run",
    "footfall.pipeline.maintain",
    "footfall.synthetic.job",
})
MAY_IMPORT_JOBS = frozenset({"pipeline/run.py", "cli.py"})


def _sources() -> list[Path]:
    files = sorted(LIBRARY.rglob("*.py"))
    assert files, f"no Python files below {LIBRARY}"
    return files


def _name(path: Path) -> str:
    return path.relative_to(LIBRARY).as_posix()


def _module(path: Path) -> str:
    parts = ["footfall", *path.relative_to(LIBRARY).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _functions(tree: ast.AST) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function and method with its qualified name (nested ones included)."""
    def walk(node: ast.AST, prefix: str) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                yield f"{prefix}{child.name}", child
                yield from walk(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.")
            else:
                yield from walk(child, prefix)

    yield from walk(tree, "")


def _imported(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, module) for every module an import statement may bind: `from a.b import c` names
    both a.b and a.b.c, since c may be a submodule."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def test_no_file_is_over_400_lines():
    long = [f"{_name(p)}: {n} lines" for p in _sources() if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES]
    assert not long, f"files over {MAX_FILE_LINES} lines (split them by concern):\n" + "\n".join(long)


def test_no_function_is_over_60_lines():
    long = []
    for path in _sources():
        for name, node in _functions(ast.parse(path.read_text())):
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines > MAX_FUNCTION_LINES:
                long.append(f"{_name(path)}:{node.lineno} {name}: {lines} lines")
    assert not long, (
        f"functions over {MAX_FUNCTION_LINES} lines (split them into well-named helpers):\n" + "\n".join(long)
    )


def test_no_module_imports_a_job_module():
    offenders = []
    for path in _sources():
        if _name(path) in MAY_IMPORT_JOBS:
            continue
        module = _module(path)
        for line, imported in _imported(ast.parse(path.read_text()), module, path.name == "__init__.py"):
            if imported in JOB_MODULES and imported != module:
                offenders.append(f"{_name(path)}:{line} imports {imported}")
    assert not offenders, (
        "modules importing a job module (move the helper they need into the library):\n" + "\n".join(offenders)
    )


def test_the_job_modules_exist():
    """The rule above would pass vacuously if a job module moved: keep the list in step."""
    modules = {_module(p) for p in _sources()}
    assert modules >= JOB_MODULES, f"job modules not found: {sorted(JOB_MODULES - modules)}"
