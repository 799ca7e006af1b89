"""Markdown, LaTeX and PDF from the document model, through Jinja2 templates."""

import os
import re
import shutil
import subprocess
import tempfile

import jinja2

from solutions.core.document import Figure, Math, Table, Text
from zoo.io import atomic_path, write_text

_TEMPLATES = os.path.join(os.path.dirname(__file__), "templates")
_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "|": r"\textbar{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}
# Characters outside what pdflatex's default fonts set in text mode.
_LATEX_TEXT = {
    "≈": "$\\approx$",
    "≤": "$\\le$",
    "≥": "$\\ge$",
    "×": "$\\times$",
    "—": "---",
    "–": "--",
    "’": "'",
    "→": "$\\to$",
    "±": "$\\pm$",
    "√": "$\\sqrt{}$",
    "·": "$\\cdot$",
}


def latex_escape(text):
    """Escapes LaTeX specials in plain text (no math inside)."""
    text = "".join(_LATEX_SPECIALS.get(c, c) for c in text)
    for char, replacement in _LATEX_TEXT.items():
        text = text.replace(char, replacement)
    # Anything else outside ASCII/Latin-1 cannot be set by pdflatex's fonts:
    # a run of it (spaces and punctuation inside included) becomes a marker
    # naming its script, e.g. "(Cyrillic text)", rather than question marks
    # (not "[...]": after a table row's \\\\ it would read as a length).
    return _NON_LATIN.sub(_script_marker, text)


_NON_LATIN = re.compile(r"[^\x00-\xff](?:[\s\W]*[^\x00-\xff])*")


def _script_marker(match):
    import unicodedata

    name = unicodedata.name(match.group(0)[0], "OTHER").split()[0]
    script = {"CJK": "Chinese", "HIRAGANA": "Japanese", "KATAKANA": "Japanese"}.get(
        name, name.title()
    )
    return f"({script} text)"


def markdown_cell(text):
    """Text safe inside a Markdown table cell (a bare | would end the cell)."""
    return text.replace("|", "\\|").replace("\n", " ")


def _inline_latex(text):
    """Text syntax -> LaTeX: math kept, `code`, **bold** and *emphasis* translated."""
    out = []
    for i, part in enumerate(re.split(r"(\$[^$]+\$)", text)):
        if i % 2:
            out.append(part)
            continue
        pieces = re.split(r"(`[^`]+`|\*\*[^*]+\*\*|\*[^*\s][^*]*\*)", part)
        for piece in pieces:
            if piece.startswith("`") and piece.endswith("`") and len(piece) > 1:
                out.append(r"\texttt{" + latex_escape(piece[1:-1]) + "}")
            elif piece.startswith("**") and piece.endswith("**") and len(piece) > 3:
                out.append(r"\textbf{" + latex_escape(piece[2:-2]) + "}")
            elif piece.startswith("*") and piece.endswith("*") and len(piece) > 2:
                out.append(r"\emph{" + latex_escape(piece[1:-1]) + "}")
            else:
                out.append(latex_escape(piece))
    return "".join(out)


def _formatted(frame, digits, decimals=None):
    """Floats as %.{digits}g (or %.{decimals}f), missing values blank, text
    exactly as given.

    Text cells are never re-parsed as numbers, so a reference printed as
    "1.1828" stays "1.1828" in both formats.

    Example:
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"MAE": [2.86, 3.0321, 12.0]})
    >>> _formatted(frame, 4)["MAE"].tolist()
    ['2.86', '3.032', '12']
    >>> _formatted(frame, 4, decimals=2)["MAE"].tolist()
    ['2.86', '3.03', '12.00']
    """
    import math

    def cell(value):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        if isinstance(value, float):
            if decimals is not None:
                return f"{value:.{decimals}f}"
            return f"{value:.{digits}g}"
        return value

    return frame.map(cell)


def _markdown_block(block):
    if isinstance(block, Text):
        return block.text
    if isinstance(block, Math):
        body = block.latex
        if "&" in body:  # keep the alignment, as LaTeX's align* does
            body = (
                "\\begin{aligned}\n"
                + body.replace("\\\\", "\\\\\n")
                + "\n\\end{aligned}"
            )
        return "$$\n" + body + "\n$$"
    if isinstance(block, Table):
        frame = block.frame.rename(columns=lambda c: markdown_cell(str(c)))
        frame = _formatted(frame, block.digits, block.decimals)
        frame = frame.map(lambda v: markdown_cell(v) if isinstance(v, str) else v)
        table = frame.to_markdown(index=False, disable_numparse=True)
        return f"*{block.caption}*\n\n{table}"
    if isinstance(block, Figure):
        return f"![{block.caption}](figures/{block.stem}.png)\n\n*{block.caption}*"
    raise TypeError(f"unknown block {type(block).__name__}")


def _latex_block(block):
    if isinstance(block, Text):
        return _inline_latex(block.text)
    if isinstance(block, Math):
        body = block.latex
        if "&" in body:
            return "\\begin{align*}\n" + body + "\n\\end{align*}"
        return "\\[\n" + body + "\n\\]"
    if isinstance(block, Table):
        frame = _formatted(block.frame, block.digits, block.decimals)
        frame.columns = [_inline_latex(str(c)) for c in frame.columns]
        for column in frame.columns:
            frame[column] = frame[column].map(
                lambda v: _inline_latex(v) if isinstance(v, str) else v
            )
        table = frame.to_latex(
            index=False,
            escape=False,
            float_format=f"%.{block.digits}g",
            # Wrapped text columns set ragged right: justified narrow
            # columns stretch the spaces between a reply's few words.
            column_format=block.column_format
            and block.column_format.replace("p{", ">{\\raggedright\\arraybackslash}p{"),
        )
        return (
            "\\begin{table}[H]\n\\centering\\small\n"
            + table
            + "\\caption*{"
            + _inline_latex(block.caption)
            + "}\n\\end{table}"
        )
    if isinstance(block, Figure):
        return (
            "\\begin{figure}[H]\n\\centering\n"
            f"\\includegraphics[width=0.8\\linewidth]{{figures/{block.stem}."
            f"{'png' if block.png_only else 'pdf'}}}\n"
            "\\caption*{" + _inline_latex(block.caption) + "}\n\\end{figure}"
        )
    raise TypeError(f"unknown block {type(block).__name__}")


def _markdown_answer(block):
    """A Result block as Markdown: text and formulas set off as a quote (the
    boxed answer); tables and figures as usual."""
    body = _markdown_block(block)
    if not isinstance(block, (Text, Math)):
        return body
    return "\n".join(f"> {line}" if line else ">" for line in body.splitlines())


def _latex_answer(block):
    """A Result block as LaTeX: text and formulas in a box the width of the
    line (the boxed answer); tables and figures as usual."""
    body = _latex_block(block)
    if not isinstance(block, (Text, Math)):
        return body
    return (
        "\\par\\noindent\\fbox{\\parbox{\\dimexpr\\linewidth-2\\fboxsep-2\\fboxrule"
        "\\relax}{" + body + "}}\\par"
    )


def _environment(latex):
    options = {"undefined": jinja2.StrictUndefined, "keep_trailing_newline": True}
    if latex:  # braces are everywhere in LaTeX: other delimiters
        options.update(
            block_start_string="<%",
            block_end_string="%>",
            variable_start_string="<<",
            variable_end_string=">>",
            comment_start_string="<#",
            comment_end_string="#>",
        )
    return jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), **options)


def render(sections, meta, fmt):
    """The whole report as text; `fmt` is "md" or "tex"."""
    latex = fmt == "tex"
    environment = _environment(latex)
    environment.filters["block"] = _latex_block if latex else _markdown_block
    environment.filters["answer"] = _latex_answer if latex else _markdown_answer
    environment.filters["text"] = _inline_latex if latex else (lambda s: s)
    environment.filters["cell"] = _inline_latex if latex else markdown_cell
    template = environment.get_template(f"solutions.{fmt}.j2")
    return template.render(sections=sections, meta=meta)


def write_report(sections, meta, out_dir, fmt):
    """Writes solutions.<fmt> atomically; returns its path."""
    path = os.path.join(out_dir, f"solutions.{fmt}")
    write_text(path, render(sections, meta, fmt))
    return path


OVERFULL = re.compile(r"^Overfull \\hbox \(([0-9.]+)pt too wide\)(.*)$", re.M)


def overfull_boxes(log_text, limit_pt=1.0):
    r"""The pdflatex log's `Overfull \hbox` lines wider than `limit_pt`.

    Example:
    >>> overfull_boxes("Overfull \\hbox (24.2pt too wide) in paragraph")
    ['Overfull \\hbox (24.2pt too wide) in paragraph']
    >>> overfull_boxes("Overfull \\hbox (0.5pt too wide) in alignment")
    []
    """
    return [
        m.group(0) for m in OVERFULL.finditer(log_text) if float(m.group(1)) > limit_pt
    ]


def compile_pdf(tex_path, out_dir, source_date_epoch="0", overfull=None):
    """pdflatex until the table of contents is stable (at most 4 runs; the
    contents' own length can move the pages it lists), in a temporary folder.

    Args:
        tex_path, out_dir: str, the LaTeX source and the report's folder.
        source_date_epoch: str, the date pdflatex writes (reproducible PDFs).
        overfull: a list to receive the log's overfull boxes wider than
            1 pt, or None.

    Returns:
        The PDF path, or None when pdflatex is not installed.

    Raises:
        RuntimeError: LaTeX failed; the message holds the first error line.
    """
    if shutil.which("pdflatex") is None:
        return None
    env = dict(os.environ, SOURCE_DATE_EPOCH=source_date_epoch, FORCE_SOURCE_DATE="1")
    with tempfile.TemporaryDirectory() as work:
        shutil.copy(tex_path, os.path.join(work, "solutions.tex"))
        shutil.copytree(os.path.join(out_dir, "figures"), os.path.join(work, "figures"))
        toc_path, previous = os.path.join(work, "solutions.toc"), None
        for run in range(4):
            done = subprocess.run(
                ["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                 "solutions.tex"],
                cwd=work, env=env, capture_output=True, text=True,
                errors="replace", timeout=300,
            )  # fmt: skip
            if done.returncode:
                errors = [x for x in done.stdout.splitlines() if x.startswith("!")]
                raise RuntimeError(
                    "pdflatex failed: " + (errors[0] if errors else "see its log")
                )
            with open(toc_path, errors="replace") as handle:
                contents = handle.read()
            if run and contents == previous:
                break
            previous = contents
        if overfull is not None:
            with open(os.path.join(work, "solutions.log"), errors="replace") as log:
                overfull.extend(overfull_boxes(log.read()))
        target = os.path.join(out_dir, "solutions.pdf")
        with atomic_path(target) as tmp:
            shutil.copy(os.path.join(work, "solutions.pdf"), tmp)
    return target
