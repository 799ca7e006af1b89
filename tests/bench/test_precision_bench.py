"""`python -m zoo.bench precision`: float32 vs mixed bfloat16. No timing is
asserted: the contract of the result, and that each side computes in its
own precision. (That `--precision` reaches training is
tests/train/test_precision.py's.)"""

import dataclasses
import math

import pytest

from zoo.bench import precision
from zoo.bench.__main__ import build_precision_config, main, parse_args


@pytest.fixture(scope="module")
def quick():
    return build_precision_config(parse_args(["precision", "--quick"]))


def test_every_workload_is_built_in_each_precision(quick):
    work = precision._workloads(quick)
    assert list(work) == [
        "lstm forecaster (fit)",
        "chatbot lstm",
        "multi-head attention (fwd+bwd)",
    ]
    for name, (_, _, build) in work.items():
        # Fails when a side is built outside its dtype policy.
        assert precision.compute_dtypes(build("float32").model) == ["float32"], name
        mixed = build("mixed_bfloat16").model
        assert precision.compute_dtypes(mixed) == ["bfloat16"], name
        assert {w.dtype for w in mixed.weights} == {"float32"}, name


def test_throughput_rows_time_both_sides(quick):
    config = dataclasses.replace(quick, workloads=("attention",))
    (row,) = precision.throughput(config)
    assert row["workload"] == "multi-head attention (fwd+bwd)"
    assert row["compute_dtypes"] == {
        "float32": ["float32"],
        "mixed_bfloat16": ["bfloat16"],
    }
    f32, bf16 = row["float32_per_second"], row["bfloat16_per_second"]
    assert f32 > 0 and bf16 > 0
    assert row["speedup"] == pytest.approx(bf16 / f32, rel=0.01)


def test_quality_compares_the_same_run_in_each_precision(quick, monkeypatch):
    calls = []

    def train(task, model, which, config, folder):
        calls.append((task, model, which))
        return {"float32": 2.0, "mixed_bfloat16": 2.1}[which], 2

    monkeypatch.setattr(precision, "_train", train)
    (row,) = precision.quality(quick)
    assert calls == [("traffic", "lstm", "float32"), ("traffic", "lstm",
                                                     "mixed_bfloat16")]  # fmt: skip
    assert row == {
        "run": "traffic lstm",
        "epochs": 2,
        "float32_val_loss": 2.0,
        "bfloat16_val_loss": 2.1,
        "relative_difference": 0.05,
    }
    assert math.isclose(row["relative_difference"], (2.1 - 2.0) / 2.0)


def test_the_cpu_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f amx_bf16 sse\n")
    assert precision.cpu_flags(str(cpuinfo)) == ["avx512f", "amx_bf16", "avx2"]


def test_batch_is_refused_in_one_line(capsys):
    assert main(["precision", "--batch", "8"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--batch: the precision benchmark" in err
