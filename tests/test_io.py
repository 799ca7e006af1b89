"""zoo.io: atomic writes leave either the old file or the new one."""

import json
import os

import pytest

from zoo.io import atomic_path, finite_or_none, write_json


def test_write_json_round_trip(tmp_path):
    path = tmp_path / "sub" / "data.json"
    write_json(path, {"b": 1, "a": [1.5]})
    assert json.loads(path.read_text()) == {"a": [1.5], "b": 1}


def test_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        with open(tmp, "w") as handle:
            handle.write("half")
        raise RuntimeError("interrupted")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["data.txt"]


def test_written_files_get_the_usual_mode_not_mkstemp_s_private_one(tmp_path):
    previous = os.umask(0o022)
    try:
        write_json(tmp_path / "a.json", {"x": 1})
    finally:
        os.umask(previous)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinities_are_refused_and_the_old_file_stays(tmp_path, bad):
    path = tmp_path / "metrics.json"
    path.write_text('{"mae": 1.0}\n')
    data = {"results": {"lstm": {"mae_per_step": [1.0, bad]}}}
    with pytest.raises(ValueError, match=r"results\.lstm\.mae_per_step\[1\] is NaN"):
        write_json(path, data)
    assert json.loads(path.read_text()) == {"mae": 1.0}
    write_json(path, finite_or_none(data))
    assert json.loads(path.read_text()) == {
        "results": {"lstm": {"mae_per_step": [1.0, None]}}
    }
