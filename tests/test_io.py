"""zoo.io: atomic writes leave either the old file or the new one."""

import json
import os

import pytest

from zoo.io import atomic_path, write_json


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
