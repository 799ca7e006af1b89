"""The documentation site (`make docs`, scripts/build_docs.py) builds with
`mkdocs build --strict`, every public name of the API pages has a
docstring, and every page, opened in headless Chromium (Debian's package),
logs nothing to the console, shows no missing image and leaves no math
untypeset. Tutorials are not executed here (tests/test_tutorials.py does)."""

import importlib
import inspect
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import build_docs  # noqa: E402

pytestmark = pytest.mark.torch_only  # the site is the same on every backend
CHROMIUM = shutil.which("chromium")
# Keras' layer protocol: the class docstring documents these (the call's
# arguments under Args), as Keras' own layers do.
LAYER_PROTOCOL = {"build", "call", "compute_mask", "compute_output_shape",
                  "compute_output_spec", "get_config", "from_config"}  # fmt: skip
UNTYPESET = re.compile(r'class="arithmatex">\s*(\\\(|\\\[)')


def missing_docstrings(module_name):
    """Public names of a module (its __all__) and their public methods
    without a docstring (an override of a documented base method, such as
    Keras' `call` or `get_config`, inherits the base's)."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None) or [
        n for n, v in vars(module).items()
        if not n.startswith("_") and getattr(v, "__module__", None) == module_name
    ]  # fmt: skip
    missing = []
    for name in names:
        value = getattr(module, name)
        if not inspect.getdoc(value):
            missing.append(f"{module_name}.{name}")
        if inspect.isclass(value):
            for attr, member in vars(value).items():
                if (not attr.startswith("_") and attr not in LAYER_PROTOCOL
                        and inspect.isfunction(member)
                        and not inspect.getdoc(getattr(value, attr))):  # fmt: skip
                    missing.append(f"{module_name}.{name}.{attr}")
    return missing


def page_problems(html_path, site):
    """Missing images and untypeset math of one built page (after JS ran
    when the page comes from Chromium's DOM)."""
    html = html_path.read_text(encoding="utf-8")
    problems = []
    for src in re.findall(r'<img[^>]+src="([^"]+)"', html):
        if not re.match(r"[a-z]+:", src) and not (site / src).exists():
            problems.append(f"missing image {src}")
    if UNTYPESET.search(html):
        problems.append("untypeset math")
    return problems


def open_in_chromium(url, dom_out, screenshot=None):
    """Chromium's DOM of `url` after its scripts ran, and its console lines."""
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
            "--enable-logging=stderr", "--v=0", "--virtual-time-budget=1000",
            "--hide-scrollbars", "--window-size=1280,1600"]  # fmt: skip
    if screenshot:
        subprocess.run([*args, f"--screenshot={screenshot}", url],
                       capture_output=True, timeout=120, check=False)  # fmt: skip
    done = subprocess.run([*args, "--dump-dom", url], capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    dom_out.write_text(done.stdout, encoding="utf-8")
    return [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


@pytest.mark.parametrize("module", build_docs.API_MODULES)
def test_every_public_name_has_a_docstring(module):
    assert missing_docstrings(module) == []


def test_the_page_checks_fail_on_a_broken_page(tmp_path):
    page = tmp_path / "p.html"
    page.write_text('<img src="gone.png"><span class="arithmatex">\\(x^2\\)</span>')
    assert page_problems(page, tmp_path) == ["missing image gone.png", "untypeset math"]
    (tmp_path / "gone.png").write_bytes(b"")
    page.write_text('<img src="gone.png"><span class="arithmatex"><span class="katex">')
    assert page_problems(page, tmp_path) == []


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_the_browser_check_hears_a_console_error(tmp_path):
    page = tmp_path / "p.html"
    page.write_text("<p>x</p><script>console.error('boom'); missing();</script>")
    console = open_in_chromium(page.as_uri(), tmp_path / "dom.html")
    assert len(console) == 2 and "boom" in console[0], console


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("mkdocs", reason="the docs extra is not installed")
    if not (build_docs.CACHE / "katex").is_dir() and not shutil.which("npm"):
        pytest.skip("KaTeX is not cached in build/cache and npm is missing")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "ZOO_DOCS_EXECUTE": "0", "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_docs.py"), "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_the_site_has_every_part(site):
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    assert {"index.html", "worked-solutions.html", "install.html"} <= pages
    assert {f"api/{m}.html" for m in build_docs.API_MODULES} <= pages
    tutorials = {f"tutorials/{p.stem}.html" for p in (ROOT / "tutorials").glob("*.py")}
    assert tutorials <= pages
    layers = (site / "api" / "zoo.layers.html").read_text(encoding="utf-8")
    assert "LinearAttention" in layers and "&gt;&gt;&gt;" not in layers.split("<pre")[0]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_every_page_in_a_real_browser(site, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    shots = ROOT / "build" / "site-screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    wanted = {"index.html", "worked-solutions.html", "tutorials/a1_feature_map.html"}
    pages = [p for p in sorted(site.rglob("*.html")) if p.name != "404.html"]

    def visit(page):
        name = page.relative_to(site).as_posix()
        shot = shots / name.replace("/", "_").replace(".html", ".png")
        dom = tmp_path / name.replace("/", "_")
        console = open_in_chromium(page.as_uri(), dom, shot if name in wanted else None)
        return name, console + page_problems(dom, page.parent)

    # Chromium mostly waits out its virtual time: four at a time on 2 cores.
    with ThreadPoolExecutor(max_workers=4) as pool:
        found = dict(pool.map(visit, pages))
    assert {name: problems for name, problems in found.items() if problems} == {}
    assert len(found) == len(pages) and all((shots / n).is_file() for n in (
        "index.png", "worked-solutions.png"))  # fmt: skip
