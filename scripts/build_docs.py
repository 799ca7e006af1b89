"""`make docs`: the documentation site, built offline into build/site/.

Why MkDocs Material: the guides are already Markdown pages that read well
on their own (docs/*.md, linked from README), mkdocs-jupyter executes the
Jupytext tutorials at build time, mkdocstrings writes the API reference
from the docstrings, and `mkdocs build --strict` turns every warning (a
broken link, a missing page, a tutorial that fails) into an error. Sphinx +
MyST-NB would do the same with a second syntax for the guides.

The pages come together in build/docs-src/ (nothing in the checkout is
written): the front page from README.md, the guides from docs/, the
tutorials from tutorials/ (executed: full size unless ZOO_TUTORIAL_SIZE=small;
ZOO_DOCS_EXECUTE=0 skips execution, for the site test, since
tests/test_tutorials.py executes them already), the worked solutions from
the committed reports/solutions.md and its figures (the Markdown the
report's document model writes), and one API page per public module. Math
is typeset with KaTeX, taken from the npm registry (a package install) into
build/cache/ on the first build; the site needs no network to be read.

Usage: python scripts/build_docs.py [--out build/site]
"""

import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
STAGE = ROOT / "build" / "docs-src"
CACHE = ROOT / "build" / "cache"
KATEX = "katex@0.16.22"
API_MODULES = ("zoo.layers", "zoo.models", "zoo.decoding", "zoo.metrics",
               "zoo.losses", "zoo.saving", "zoo.chat")  # fmt: skip
GUIDES = [
    ("Install", "install.md"),
    ("Training runs", "training.md"),
    ("Scaling out", "scaling-out.md"),
    ("Interruptions and --resume", "resume.md"),
    ("Layers", "layers.md"),
    ("Worked solutions (how)", "solutions.md"),
    ("Benchmarks", "benchmarks.md"),
    ("Test matrix", "testing.md"),
    ("Architecture", "architecture.md"),
    ("Experiment log", "experiments.md"),
]


def front_page(readme):
    """README.md as the site's home: links into docs/ become site links.

    Example:
    >>> front_page("[a](docs/install.md) [b](docs/training.md#chatbots)")
    '[a](install.md) [b](training.md#chatbots)'
    """
    return re.sub(r"\]\(docs/", "](", readme)


def guide(text):
    """A guide of docs/ with its links back to the README pointed at home.

    Example:
    >>> guide("[front page](../README.md#results)")
    '[front page](index.md#results)'
    """
    return text.replace("](../README.md", "](index.md")


def katex_assets():
    """The folder of KaTeX's dist/ (katex.min.js, .css, fonts), fetched
    once with `npm pack` into build/cache/."""
    dist = CACHE / "katex" / "dist"
    if not (dist / "katex.min.js").is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["npm", "pack", KATEX, "--pack-destination", str(CACHE), "--silent"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"build_docs: error: npm pack {KATEX} failed: "
                             f"{done.stderr.strip().splitlines()[-1:]}; it needs "
                             "the npm registry once")  # fmt: skip
        archive = CACHE / done.stdout.strip().splitlines()[-1]
        with tarfile.open(archive) as tar:
            members = [
                m for m in tar.getmembers() if m.name.startswith("package/dist/")
            ]
            tar.extractall(CACHE / "katex-tmp", members=members, filter="data")
        shutil.rmtree(CACHE / "katex", ignore_errors=True)
        (CACHE / "katex-tmp" / "package").rename(CACHE / "katex")
        shutil.rmtree(CACHE / "katex-tmp")
    return dist


def api_page(module):
    """The API page of `module`: mkdocstrings renders its public names."""
    options = "      show_root_heading: false\n      members_order: source\n"
    return f"# `{module}`\n\n::: {module}\n    options:\n" + options


def stage(execute, size):
    """Assembles build/docs-src/ and returns the mkdocs.yml written there."""
    shutil.rmtree(STAGE, ignore_errors=True)
    (STAGE / "tutorials").mkdir(parents=True)
    (STAGE / "api").mkdir()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (STAGE / "index.md").write_text(front_page(readme), encoding="utf-8")
    for _, name in GUIDES:
        text = (ROOT / "docs" / name).read_text(encoding="utf-8")
        (STAGE / name).write_text(guide(text), encoding="utf-8")
    tutorials = sorted((ROOT / "tutorials").glob("*.py"))
    for path in tutorials:
        shutil.copy(path, STAGE / "tutorials" / path.name)
    report = (ROOT / "reports" / "solutions.md").read_text(encoding="utf-8")
    (STAGE / "worked-solutions.md").write_text(report, encoding="utf-8")
    shutil.copytree(ROOT / "reports" / "figures", STAGE / "figures",
                    ignore=shutil.ignore_patterns("*.pdf"))  # fmt: skip
    for module in API_MODULES:
        (STAGE / "api" / f"{module}.md").write_text(api_page(module), encoding="utf-8")
    shutil.copytree(katex_assets(), STAGE / "assets" / "katex")
    (STAGE / "assets" / "math.js").write_text(MATH_JS, encoding="utf-8")
    nav = ["  - Home: index.md"]
    nav += ["  - Guides:"] + [f"    - '{title}': {name}" for title, name in GUIDES]
    nav += ["  - Tutorials:"] + [f"    - tutorials/{p.name}" for p in tutorials]
    nav += ["  - Worked solutions: worked-solutions.md", "  - API reference:"]
    nav += [f"    - {m}: api/{m}.md" for m in API_MODULES]
    config = CONFIG.format(
        docs=STAGE, execute=str(execute).lower(), nav="\n".join(nav), root=ROOT
    )
    path = STAGE.parent / "mkdocs.yml"
    path.write_text(config, encoding="utf-8")
    os.environ["ZOO_TUTORIAL_SIZE"] = size
    return path


MATH_JS = """// Typesets the arithmatex spans and blocks with the local KaTeX.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".arithmatex").forEach(function (el) {
    var tex = el.textContent.trim();
    var display = tex.startsWith("\\\\[");
    tex = tex.replace(/^\\\\[\\[(]/, "").replace(/\\\\[\\])]$/, "");
    katex.render(tex, el, {displayMode: display, throwOnError: true});
  });
});
"""

CONFIG = """site_name: keras-zoo
site_description: Attention and sequence models on three Keras 3 backends
docs_dir: {docs}
strict: true
use_directory_urls: false
theme:
  name: material
  features: [navigation.sections, content.code.copy]
nav:
{nav}
markdown_extensions:
  - tables
  - admonition
  - attr_list
  - md_in_html
  - toc:
      permalink: true
  - pymdownx.arithmatex:
      generic: true
  - pymdownx.superfences
  - pymdownx.highlight
extra_javascript:
  - assets/katex/katex.min.js
  - assets/math.js
extra_css:
  - assets/katex/katex.min.css
plugins:
  - search
  - mkdocs-jupyter:
      execute: {execute}
      include: ["tutorials/*.py"]
      allow_errors: false
      include_source: true
  - mkdocstrings:
      handlers:
        python:
          paths: [{root}]
          options:
            extensions: [{root}/scripts/griffe_doctests.py:DoctestFences]
            docstring_style: google
            show_source: false
            show_signature_annotations: false
            filters: ["!^_"]
validation:
  links:
    not_found: warn
    anchors: warn
    absolute_links: warn
    unrecognized_links: warn
"""


def main(argv=None):
    parser = argparse.ArgumentParser(prog="scripts/build_docs.py", description=__doc__)
    parser.add_argument("--out", default=str(ROOT / "build" / "site"))
    args = parser.parse_args(argv)
    execute = os.environ.get("ZOO_DOCS_EXECUTE", "1") != "0"
    size = os.environ.get("ZOO_TUTORIAL_SIZE", "full")
    config = stage(execute, size)
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
         "--config-file", str(config),
         "--site-dir", str(pathlib.Path(args.out).resolve())],
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        print("build_docs: error: mkdocs build --strict failed (above)",
              file=sys.stderr)  # fmt: skip
        return 1
    print(f"build_docs: site in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
