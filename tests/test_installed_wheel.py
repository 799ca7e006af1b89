"""keras-zoo as a researcher installs it: the wheel built from this tree,
installed with the JAX extra into a new virtual environment, run from a
folder outside the checkout. Offline: the new environment sees the test
environment's packages through a `.pth` line (the dependencies are
installed, not downloaded) and its own site-packages, which holds the
wheel's `zoo` and `solutions`, comes first."""

import os
import re
import shutil
import subprocess
import sys
import sysconfig

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.jax_only  # one backend is enough; JAX is the extra


def readme_layer_example():
    """The README's Python block under "Layers:", as printed there."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        text = handle.read()
    found = re.search(r"^Layers:\n\n```python\n(.*?)^```", text, re.M | re.S)
    assert found, "README.md has no ```python block under 'Layers:'"
    return found.group(1)


def build_wheel(folder):
    """The wheel built from the sdist of a copy of the sources (pip's own
    route from a source release; the checkout is left untouched)."""
    source = folder / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("zoo", "solutions"):
        shutil.copytree(os.path.join(ROOT, package), source / package, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "MANIFEST.in"):
        shutil.copy(os.path.join(ROOT, name), source / name)
    script = "from setuptools import build_meta; build_meta.build_sdist('../sdist')"
    subprocess.run(
        [sys.executable, "-c", script],
        check=True, capture_output=True, cwd=source, timeout=300,
    )  # fmt: skip
    (sdist,) = (folder / "sdist").glob("keras_zoo-*.tar.gz")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", str(folder / "dist"), str(sdist)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    (wheel,) = (folder / "dist").glob("keras_zoo-*.whl")
    return wheel


def new_environment(folder):
    """A venv whose own site-packages comes before this environment's."""
    venv = folder / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)],
        check=True,
        timeout=120,
    )
    python = venv / "bin" / "python"
    script = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    purelib = subprocess.run(
        [str(python), "-c", script], check=True, capture_output=True, text=True
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    with open(os.path.join(purelib, "zz-test-environment.pth"), "w") as handle:
        handle.write("\n".join(sorted(ours)) + "\n")
    return python


def test_the_wheel_runs_from_any_folder(tmp_path):
    wheel = build_wheel(tmp_path)
    python = new_environment(tmp_path)
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
         "--no-index", "--no-deps", f"keras-zoo[jax] @ {wheel.as_uri()}"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "TF_CPP_MIN_LOG_LEVEL")
    }
    env.update(KERAS_BACKEND="jax", TF_ENABLE_ONEDNN_OPTS="1")

    def run(*argv):
        done = subprocess.run(
            [str(python), "-X", "importtime", *argv],
            capture_output=True, text=True, cwd=work, env=env, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        imported = re.findall(r"^import time:.*\|\s+([\w.]+)$", done.stderr, re.M)
        assert "tensorflow" not in {m.split(".")[0] for m in imported}
        other = [x for x in done.stderr.splitlines() if not x.startswith("import ")]
        assert other == [], other  # no warning, no start-up line
        return done.stdout

    # The package comes from the new environment, with its data and metadata.
    where = run("-c", "import zoo, importlib.metadata as m; "
                "print(zoo.__file__); print(m.requires('keras-zoo'))")  # fmt: skip
    assert where.startswith(str(tmp_path / "venv")), where
    assert 'jax>=0.4.30; extra == "jax"' in where
    out = run("-c", readme_layer_example() + "\nprint(tuple(y.shape), "
              "tuple(token_out.shape))")  # fmt: skip
    assert out.strip().splitlines()[-1] == "(2, 128, 64) (2, 1, 64)"

    run("-m", "zoo.train", "traffic", "--epochs", "1", "--out", "traffic")
    assert (work / "traffic" / "metrics.json").is_file()
    out = run("-m", "zoo.train", "chatbot", "--model", "lstm", "--epochs", "1",
              "--units", "16", "--max-train-pairs", "300",
              "--out", "chatbot")  # fmt: skip
    assert (work / "chatbot" / "model.keras").is_file()
    assert "do you have any pets?" in out  # the shipped everyday prompts
    run("-m", "solutions", "--only", "A1.2", "--formats", "md", "--out", "report")
    report = (work / "report" / "solutions.md").read_text(encoding="utf-8")
    assert "A1.2" in report and "FAIL" not in report
