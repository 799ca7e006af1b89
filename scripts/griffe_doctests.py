"""A griffe extension for the API reference (scripts/build_docs.py): the
zoo's docstrings write their doctest examples flush under "Example:", which
Markdown would read as nested quotes (">>>"); this fences each run of
doctest lines and their output as a `pycon` code block."""

import re

import griffe

PROMPT = re.compile(r"^(\s*)(>>>|\.\.\.)( |$)")


def fence_doctests(text):
    """`text` with every doctest block inside a ```pycon fence.

    Args:
        text: str, a docstring.

    Returns:
        str.

    Example:
    >>> print(fence_doctests("Example:\\n>>> 1 + 1\\n2\\n\\nAfter."))
    Example:
    ```pycon
    >>> 1 + 1
    2
    ```
    <BLANKLINE>
    After.
    """
    out, inside = [], False
    for line in text.split("\n"):
        prompt = PROMPT.match(line)
        if prompt and not inside:
            out.append(prompt[1] + "```pycon")
            inside, indent = True, prompt[1]
        elif inside and not line.strip():
            out.append(indent + "```")
            inside = False
        out.append(line)
    if inside:
        out.append(indent + "```")
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    """Fences the doctest examples of every docstring griffe loads."""

    def on_object(self, *, obj, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(obj.docstring.value)
