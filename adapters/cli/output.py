"""Output for people and for scripts: rich tables and trees on a terminal, plain text when piped, JSON in UTC."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import click
import msgspec

from adapters.utc import each_leaf, instant_text_in_utc
from adapters.words import instant_text

__all__ = ["Tree", "echo_json", "echo_table", "echo_tree", "echo_warnings", "exclusive", "instant_text", "on_terminal",
           "tree_lines"]

Tree = tuple[str, list["Tree"]]
"""A label and its children: what ``explain`` draws for a plan."""


def on_terminal() -> bool:
    """Whether standard output is a terminal (rich output) rather than a pipe or a file (plain text)."""
    return bool(getattr(sys.stdout, "isatty", lambda: False)())


def echo_json(value: Any) -> None:
    """``value`` as indented JSON, every instant in UTC with a ``Z``."""
    plain = each_leaf(msgspec.to_builtins(value, builtin_types=(datetime,)), instant_text_in_utc)
    click.echo(msgspec.json.format(msgspec.json.encode(plain), indent=2))


def echo_warnings(warnings: Sequence[str]) -> None:
    """Each warning on stderr (``callroute: warning: …``), so that standard output stays the command's own."""
    for warning in warnings:
        click.echo(f"callroute: warning: {warning}", err=True)


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, title: str | None = None) -> None:
    """Rows under headers: a rich table on a terminal, aligned columns when piped."""
    cells = [["" if cell is None else str(cell) for cell in row] for row in rows]
    if on_terminal():
        from rich.console import Console
        from rich.table import Table

        # Never truncate: the first column (the ids) stays whole, every other cell wraps, and folds a word
        # longer than its column rather than cutting it with an ellipsis.
        table = Table(title=title, title_justify="left")
        for index, header in enumerate(headers):
            if index == 0:
                table.add_column(header, no_wrap=True, overflow="fold", min_width=max([len(header)] + [len(r[0]) for r in cells]))
            else:
                table.add_column(header, overflow="fold")
        for row in cells:
            table.add_row(*row)
        Console(file=sys.stdout).print(table)
        return
    if title:
        click.echo(title)
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    for row in [list(headers), *cells]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def echo_tree(root: Tree) -> None:
    """A tree: rich guides on a terminal, the same shape in plain characters when piped."""
    if on_terminal():
        from rich.console import Console
        from rich.markup import escape
        from rich.tree import Tree as RichTree

        def build(node: Tree, parent: Any) -> None:
            for label, children in node[1]:
                build((label, children), parent.add(escape(label)))

        top = RichTree(escape(root[0]))
        build(root, top)
        # Labels wrap at words under their guides; nothing is cut off at the terminal's edge.
        Console(file=sys.stdout).print(top)
        return
    click.echo("\n".join(tree_lines(root)))


def tree_lines(root: Tree) -> list[str]:
    """A tree as lines with ``├─``/``└─`` guides."""
    lines = [root[0]]

    def walk(children: list[Tree], prefix: str) -> None:
        for i, (label, grandchildren) in enumerate(children):
            last = i == len(children) - 1
            lines.append(f"{prefix}{'└─ ' if last else '├─ '}{label}")
            walk(grandchildren, prefix + ("   " if last else "│  "))

    walk(root[1], "")
    return lines


def exclusive(**flags: bool) -> None:
    """Refuse output options that cannot go together (``--json`` and ``--csv``)."""
    given = [name for name, value in flags.items() if value]
    if len(given) > 1:
        from adapters.cli.errors import Failure

        raise Failure(f"{' and '.join(given)} cannot be used together; choose one output format")

