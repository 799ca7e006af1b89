"""Markdown pieces shared by the generated pages: tables, and regions of a
hand-written page (README.md) that a command regenerates between markers."""

import re

from zoo.errors import ZooError


def table(header, rows):
    """A Markdown table.

    Args:
        header: list of column titles.
        rows: list of lists of cells (anything `str` prints).

    Returns:
        str.

    Example:
    >>> print(table(["a", "b"], [[1, 2]]))
    | a | b |
    |---|---|
    | 1 | 2 |
    """
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def replace_marked(text, marker, body):
    r"""`text` with what lies between `<!-- marker -->` and `<!-- /marker -->`
    replaced by `body`: how generated tables live inside a hand-written page.

    Args:
        text: str, the page.
        marker: str, e.g. "bench:lstm".
        body: str, the new content (a newline is added after it).

    Returns:
        str.

    Raises:
        ZooError: when the page lacks the pair of markers.

    Example:
    >>> replace_marked("a\n<!-- t -->\nold\n<!-- /t -->\nb", "t", "new")
    'a\n<!-- t -->\nnew\n<!-- /t -->\nb'
    """
    pattern = re.compile(
        rf"(<!-- {re.escape(marker)} -->\n).*?(<!-- /{re.escape(marker)} -->)",
        re.DOTALL,
    )
    if not pattern.search(text):
        raise ZooError(
            f"README has no <!-- {marker} --> ... <!-- /{marker} --> markers; "
            "put them around the table to regenerate"
        )
    return pattern.sub(lambda match: match[1] + body + "\n" + match[2], text)
