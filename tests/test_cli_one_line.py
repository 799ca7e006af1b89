"""Every CLI's bad input is one line on stderr on every backend, with
TensorFlow's oneDNN forced on (it prints start-up lines on the CPUs where it
is on by default), and a JAX or torch run never imports TensorFlow."""

import os
import re
import subprocess
import sys

import keras
import pytest

from zoo import quiet_startup
from zoo.chat import EMPTY_REPLY
from zoo.testing import write_tsv_corpus

BACKEND = keras.backend.backend()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def user_env(**extra):
    """A user's environment: oneDNN on, no log level of ours or the tests'."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return {**env, "KERAS_BACKEND": BACKEND, "TF_ENABLE_ONEDNN_OPTS": "1", **extra}


def run_cli(argv, cwd, **extra_env):
    return subprocess.run(
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=user_env(PYTHONPATH=ROOT, **extra_env),
        timeout=300,
    )


def bad_inputs(tmp):
    """{case: (argv, the program's name)}: one per CLI, each failing after
    Keras has loaded (so after TensorFlow's start-up lines, on its lane)."""
    corrupt = tmp / "corrupt.h5"
    corrupt.write_bytes(b"not an HDF5 file")
    (tmp / "not-a-run").mkdir()
    a_file = tmp / "a-file"
    a_file.write_text("")
    bench = ["-m", "zoo.bench", "attention", "--quick", "--out", f"{a_file}/x.json"]
    return {
        "train-data": (["-m", "zoo.train", "traffic", "--data", str(corrupt)],
                       "zoo.train"),
        "chat-run": (["-m", "zoo.chat", "--run", str(tmp / "not-a-run"), "--say",
                      "hi"], "zoo.chat"),
        "bench-out": (bench, "zoo.bench"),
        "solutions-only": (["-m", "solutions", "--only", "Z9", "--formats", "md"],
                           "solutions"),
    }  # fmt: skip


CASES = ["train-data", "chat-run", "bench-out", "solutions-only"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_with_onednn_on(case, tmp_path):
    argv, prog = bad_inputs(tmp_path)[case]
    done = run_cli(argv, tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), lines


@pytest.mark.tensorflow_only
def test_the_startup_lines_are_shown_when_asked_for(tmp_path):
    """TF_CPP_MIN_LOG_LEVEL=0 turns the filter off: the same bad input then
    shows TensorFlow's start-up lines (so the test above would see them
    without `zoo.quiet_startup`)."""
    argv, _ = bad_inputs(tmp_path)["train-data"]
    done = run_cli(argv, tmp_path, TF_CPP_MIN_LOG_LEVEL="0")
    assert done.returncode == 2
    noise = [
        x for x in done.stderr.splitlines() if quiet_startup.STARTUP_NOISE.match(x)
    ]
    assert any("oneDNN custom operations are on" in x for x in noise), noise


def test_other_lines_printed_during_the_import_are_kept(tmp_path):
    """Only the start-up lines go: a line of the imported package's own (here
    a fake `tensorflow` that prints one of each) still reaches stderr."""
    fake = tmp_path / "fake" / "tensorflow"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "import os\n"
        "os.write(2, b'WARNING: All log messages before absl::InitializeLog() is "
        "called are written to STDERR\\n')\n"
        "os.write(2, b'I0000 00:00:1.5 42 port.cc:153] oneDNN custom operations "
        "are on.\\n')\n"
        "os.write(2, b'E0000 00:00:1.6 42 real.cc:9] a real problem\\n')\n"
    )
    script = (
        "from zoo import quiet_startup\n"
        "assert quiet_startup.install()\n"
        "import tensorflow\n"
        "import sys; print('after', file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=user_env(PYTHONPATH=os.pathsep.join([str(tmp_path / "fake"), ROOT])),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == ["E0000 00:00:1.6 42 real.cc:9] a real problem",
                                        "after"]  # fmt: skip


@pytest.mark.torch_only  # JAX: tests/test_installed_wheel.py checks the same
def test_a_run_imports_no_tensorflow(tmp_path):
    """Training and chatting under torch never import TensorFlow (Keras'
    set_random_seed did, to seed it, whenever it is installed)."""
    run = tmp_path / "run"
    # A small corpus file: reading and splitting the embedded chitchat
    # corpus (131k pairs) would be most of this test's time.
    corpus = write_tsv_corpus(tmp_path / "pairs.tsv")
    commands = [
        ["-m", "zoo.train", "chatbot", "--model", "lstm", "--epochs", "1",
         "--units", "8", "--corpus", "tsv", "--data", str(corpus),
         "--out", str(run)],
        ["-m", "zoo.chat", "--run", str(run), "--say", "hello"],
        ["-m", "zoo.train", "traffic", "--epochs", "1", "--units", "4",
         "--out", str(tmp_path / "traffic")],
    ]  # fmt: skip
    for argv in commands:
        done = run_cli(["-X", "importtime", *argv], tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        imported = re.findall(r"^import time:.*\|\s+([\w.]+)$", done.stderr, re.M)
        assert imported and "tensorflow" not in {m.split(".")[0] for m in imported}
        # A one-epoch model may end its reply at once; zoo.chat says so on
        # stderr, and that line is the product speaking, not TensorFlow.
        said = {f"zoo.chat: {EMPTY_REPLY}"}
        other = [x for x in done.stderr.splitlines()
                 if not x.startswith("import ") and x not in said]  # fmt: skip
        assert other == [], other
