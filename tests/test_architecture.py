"""docs/architecture.md lists every module of the package, and only modules that exist."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
ENTRY = re.compile(r"^(?P<indent> *)(?P<name>[A-Za-z_][\w]*(?:\.py|/))(?:\s|$)")


def layout_block(text: str) -> list[str]:
    """The lines of the code block under the ``## Layout`` heading."""
    section = text.split("\n## Layout", 1)[1]
    return section.split("```", 2)[1].splitlines()[1:]


def documented_modules(lines: list[str]) -> set[str]:
    """Module paths (relative to ``cxinfluence/``) named in the layout block, by their indentation.

    A line that starts (after its indentation) with ``name.py`` names a module in the folder of
    the nearest less-indented ``name/`` line above it; description lines continue with other words.

    >>> sorted(documented_modules(["cxinfluence/", "  core.py   x", "  network/  y", "    graph.py  z",
    ...                            "                more words", "  io.py  w"]))
    ['core.py', 'io.py', 'network/graph.py']
    """
    folders: list[tuple[int, str]] = []  # (indent, folder) from the outermost in
    found = set()
    for line in lines:
        m = ENTRY.match(line)
        if not m:
            continue
        indent, name = len(m["indent"]), m["name"]
        while folders and folders[-1][0] >= indent:
            folders.pop()
        if name.endswith("/"):
            folders.append((indent, name))
            continue
        # the first folder is the package itself (cxinfluence/)
        found.add("".join(f for _, f in folders[1:]) + name)
    return found


def modules_on_disk() -> set[str]:
    package = ROOT / "cxinfluence"
    return {p.relative_to(package).as_posix() for p in package.rglob("*.py") if "__pycache__" not in p.parts}


def namespace_init(path: str) -> bool:
    """A stage folder's ``__init__.py``: its namespace, described once in prose, not line by line."""
    return path.endswith("/__init__.py") and path.count("/") == 1


def test_layout_parser_reads_the_doc():
    listed = documented_modules(layout_block(DOC.read_text()))
    assert {"__init__.py", "village/core.py", "network/graph.py", "village/importers/team.py"} <= listed


def test_architecture_lists_every_module():
    listed = documented_modules(layout_block(DOC.read_text()))
    on_disk = modules_on_disk()
    missing = sorted(m for m in on_disk - listed if not namespace_init(m))
    assert not missing, (
        f"docs/architecture.md (## Layout) does not list {len(missing)} module(s): {', '.join(missing)}. "
        "Add a line for each under its folder, e.g. '    roles_match.py  what it does'."
    )


def test_architecture_lists_no_module_that_is_gone():
    listed = documented_modules(layout_block(DOC.read_text()))
    stale = sorted(listed - modules_on_disk())
    assert not stale, (
        f"docs/architecture.md (## Layout) lists {len(stale)} module(s) that do not exist: {', '.join(stale)}. "
        "Remove or rename those lines."
    )
