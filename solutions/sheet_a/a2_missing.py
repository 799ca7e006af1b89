"""Sheet A, Question 2: its text is missing from the sheet, so nothing is answered."""

from solutions.core.document import Section, Text


def a2(out_dir):
    """The short section that says why Question 2 has no solution.

    Args:
        out_dir: str, unused (every builder takes the output folder).

    Returns:
        Section without checks.

    Example:
    >>> a2("reports").checks
    []
    """
    return Section(
        "A2",
        "Question 2 (not in the sheet)",
        statement=[
            Text(
                "Sheet A lists a Question 2 with three sub-questions, but the "
                "sheet does not contain their text (and its answer spaces are "
                "blank). There is nothing to solve, so this report does not "
                "invent a question: the section only records that it was not "
                "skipped by mistake."
            )
        ],
    )
