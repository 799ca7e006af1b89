"""The document model: one source rendered to Markdown and to LaTeX.

A report is a list of `Section`s; a section holds the problem statement, the
derivation, the result and the evidence as lists of blocks, and its checks
(`Check`: a computed number against the derivation's). Text blocks use a small common
syntax that both formats understand once the renderer has translated it:
inline math in `$...$`, display math in `Math` blocks, `**bold**` and
`` `code` ``.

Example:
>>> section = Section("A1.1", "Softmax attention", statement=[Text("Find O(.)")])
>>> section.passed
True
"""

from dataclasses import dataclass, field


@dataclass
class Text:
    """A paragraph: `$inline math$`, `**bold**`, `` `code` ``."""

    text: str


@dataclass
class Math:
    """Display math (LaTeX, amsmath `align*` when it holds `&`)."""

    latex: str


@dataclass
class Table:
    """A pandas DataFrame with a caption; floats formatted with `digits`
    significant digits, or with `decimals` fixed decimals when given (a
    column of errors in seconds then reads 2.86, 3.03, 12.00, not 2.86,
    3.032, 12)."""

    frame: object
    caption: str
    digits: int = 4
    # LaTeX column format, e.g. "p{3cm}p{4cm}" so long text wraps; None: "l"s.
    column_format: str | None = None
    decimals: int | None = None


@dataclass
class Figure:
    """A figure written as figures/<stem>.png and figures/<stem>.pdf.

    `png_only`: copied from a run (PNG), LaTeX includes the PNG too.
    """

    stem: str
    caption: str
    png_only: bool = False


@dataclass
class Check:
    """One number computed by the code against what the derivation says.

    Attributes:
        quantity: what was computed.
        computed: the number.
        expected: the derivation's value (or a bound), as text.
        passed: whether they agree within the stated tolerance.
    """

    quantity: str
    computed: str
    expected: str
    passed: bool


@dataclass
class Section:
    """One problem: statement, derivation, result and checks."""

    id: str
    title: str
    statement: list = field(default_factory=list)
    derivation: list = field(default_factory=list)
    result: list = field(default_factory=list)
    # Shown under "Check": the tables, figures and notes the checks rest on.
    evidence: list = field(default_factory=list)  # blocks: Text, Table, Figure
    checks: list = field(default_factory=list)  # Check, one row each

    @property
    def anchor(self):
        """An HTML anchor for the table of contents, e.g. `a1-2`."""
        return "".join(c if c.isalnum() else "-" for c in self.id.lower())

    @property
    def passed(self):
        """Whether every check passed (True for a section with none)."""
        return all(check.passed for check in self.checks)

    @property
    def status(self):
        """The section's checks in words.

        Example:
        >>> Section("A2", "Question 2").status
        'no numerical checks (statement only)'
        """
        total = len(self.checks)
        if not total:
            return "no numerical checks (statement only)"
        failed = sum(not check.passed for check in self.checks)
        if failed:
            return f"{failed} of {_count(total, 'check')} FAILED"
        return f"{_count(total, 'check')}, all passed"


def _count(number, noun):
    """`_count(1, "check")` -> "1 check"; `_count(2, "check")` -> "2 checks"."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def checks_summary(sections):
    """The checks of a whole report in words, for its summary and the CLI.

    A problem without numerical checks (a statement only) is named as such,
    never counted as "0 checks, all passed".

    Args:
        sections: list of Section.

    Returns:
        str, e.g. "13 checks, all passed; no numerical checks in A2
        (statement only)".

    Example:
    >>> checks_summary([Section("A2", "Question 2")])
    'no numerical checks in A2 (statement only)'
    """
    checked = [s for s in sections if s.checks]
    bare = [s.id for s in sections if not s.checks]
    parts = []
    if checked:
        total = sum(len(s.checks) for s in checked)
        passed = sum(c.passed for s in checked for c in s.checks)
        failed = [s.id for s in checked if not s.passed]
        if failed:
            parts.append(
                f"{passed} of {_count(total, 'check')} passed, FAILED in "
                f"{', '.join(failed)}"
            )
        else:
            parts.append(f"{_count(total, 'check')}, all passed")
    if bare:
        parts.append(f"no numerical checks in {', '.join(bare)} (statement only)")
    return "; ".join(parts) or "no problems"


def check(quantity, computed, expected, passed, fmt="{:.3g}"):
    """A Check with numbers formatted by `fmt` (strings pass through)."""

    def text(value):
        return value if isinstance(value, str) else fmt.format(value)

    return Check(quantity, text(computed), text(expected), bool(passed))


def missing_runs(what, command):
    """The paragraph that stands where a table of runs would be."""
    if not command.startswith("`"):
        command = f"`{command}`"
    return Text(
        f"**No {what} runs found.** This table comes from training runs; "
        f"produce them with {command} and generate the report again."
    )
