"""Every tutorial (tutorials/*.py, Jupytext percent scripts) executes as a
notebook, in a fresh Jupyter kernel, at the small size: a cell that raises
fails the test with the cell's error. One backend is enough (the layers
they call are tested on all three); torch's lane has the most room."""

import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
TUTORIALS = sorted((ROOT / "tutorials").glob("*.py"))
SETUP = 'if importlib.util.find_spec("zoo") is None:'

pytestmark = pytest.mark.torch_only


def execute(path, folder):
    """Runs `path` as a notebook with its outputs written to `folder`."""
    import jupytext
    from nbclient import NotebookClient

    notebook = jupytext.read(path)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    )  # fmt: skip
    client.execute()
    return notebook


def test_there_is_a_tutorial_per_sheet_part():
    names = {p.stem.split("_")[0] for p in TUTORIALS}
    assert {"a1", "a3", "b2", "b3", "b4"} <= names, names


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_executes_at_the_small_size(path, tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_TUTORIAL_SIZE", "small")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    text = path.read_text(encoding="utf-8")
    assert SETUP in text, "the first code cell installs keras-zoo when missing"
    assert "Exercise" in text.split("# %%")[-1] or "Exercise" in text[-3000:]
    notebook = execute(path, tmp_path)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code)


def test_a_failing_cell_fails_the_run(tmp_path):
    from nbclient.exceptions import CellExecutionError

    broken = tmp_path / "broken.py"
    broken.write_text("# %%\nx = 1\n\n# %%\nassert x == 2, 'wrong value'\n")
    with pytest.raises(CellExecutionError, match="wrong value"):
        execute(broken, tmp_path)
