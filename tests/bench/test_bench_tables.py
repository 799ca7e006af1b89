"""docs/benchmarks.md's tables regenerated from the JSON (`make bench`)."""

import json
import pathlib

from zoo.bench.tables import TABLES, main, rewrite

MARKED = "".join(
    f"intro\n<!-- bench:{n} -->\nold\n<!-- /bench:{n} -->\n" for n in TABLES
)


def write(folder, name, result):
    (folder / f"{name}.json").write_text(json.dumps(result))


def decode_result(steps, speedup, same=True):
    row = {"speedup": speedup, "cached_seconds": 0.0221, "same_tokens": same}
    return {"config": {"steps": steps}, "models": {"transformer": row}}


def test_each_table_says_what_its_file_says(tmp_path):
    write(
        tmp_path,
        "lstm-torch",
        {
            "keras_lstm_samples_per_second": 2500.4,
            "torch_reference_samples_per_second": 2873.0,
            "ratio_to_torch": 0.8703,
        },
    )
    write(tmp_path, "decode-jax", decode_result(32, 16.834))
    write(tmp_path, "decode-128-jax", decode_result(128, 41.9, same=False))
    torch_decode = decode_result(32, 3.71)
    torch_decode["models"]["transformer"]["torch_compile"] = {
        "speedup": 13.12,
        "cached_seconds": 0.1004,
        "first_call_seconds": 9.04,
        "same_tokens": True,
    }
    write(tmp_path, "decode-torch", torch_decode)
    text = rewrite(MARKED, tmp_path)
    assert "old" not in text and text.count("intro\n") == len(TABLES)
    assert "| torch | 2,500 | 2,873 | 0.87 |" in text
    assert "| jax | not measured |" in text  # lstm-jax.json is missing
    assert "| jax, 32 | - | - | 16.8x (0.022 s) | - |" in text
    assert "| torch, 32 | - | - | 3.7x (0.022 s) | - |" in text
    compiled = "| torch + torch.compile, 32 | - | - | 13.1x (0.100 s; first 9 s) | - |"
    assert compiled in text
    assert "| tensorflow, 32 | not measured |" in text
    assert "| jax, 128 | - | - | 41.9x (0.022 s) (tokens differ) | - |" in text


def test_the_seq2seq_and_attention_tables(tmp_path):
    write(
        tmp_path,
        "seq2seq-tensorflow",
        {
            "models": {
                "transformer": {"ratio_to_reference": 1.014},
            }
        },
    )
    rows = [
        ("zoo.layers.MultiHeadAttention", 40.0, 0.8),
        ("keras.layers.MultiHeadAttention", 41.0, 0.78),
        ("torch.nn.MultiheadAttention", 44.0, 0.72),
    ]
    write(
        tmp_path,
        "attention-torch",
        {
            "speed": {
                "rows": [
                    {
                        "implementation": name,
                        "milliseconds": ms * factor,
                        "fraction_of_sgemm_peak": peak,
                        "mode": mode,
                    }
                    for mode, factor in (("forward", 1), ("forward+backward", 3))
                    for name, ms, peak in rows
                ]
            }
        },
    )
    text = rewrite(MARKED, tmp_path)
    assert "| tensorflow | - | - | 1.01 | - |" in text
    assert "| jax | not measured |" in text.split("bench:seq2seq")[1]
    native = "(`torch.nn.MultiheadAttention`)"
    assert f"| torch | forward | 40.0 | 1.02 | 1.10 {native} | 0.80 |" in text
    assert f"| torch | forward+backward | 120.0 | 1.02 | 1.10 {native} | 0.80 |" in text


def test_a_missing_marker_or_bad_json_exits_2_and_leaves_the_readme(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text(MARKED.replace("<!-- /bench:decode -->", ""))
    assert main(["--readme", str(readme), "--results", str(tmp_path)]) == 2
    assert "no <!-- bench:decode -->" in capsys.readouterr().err
    readme.write_text(MARKED)
    (tmp_path / "lstm-jax.json").write_text("{")
    assert main(["--readme", str(readme), "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "lstm-jax.json: not valid JSON" in err and "\n" not in err.strip()
    assert readme.read_text() == MARKED
    (tmp_path / "lstm-jax.json").write_text('{"models": {}}')  # fields missing
    assert main(["--readme", str(readme), "--results", str(tmp_path)]) == 2
    assert "the lstm results are not what zoo.bench writes" in capsys.readouterr().err
    assert readme.read_text() == MARKED


def test_the_precision_tables(tmp_path):
    throughput = {"workload": "chatbot lstm", "unit": "tokens",
                  "float32_per_second": 7834.2, "bfloat16_per_second": 6732.8,
                  "speedup": 0.859}  # fmt: skip
    quality = {"run": "traffic lstm", "epochs": 10, "float32_val_loss": 0.42451,
               "bfloat16_val_loss": 0.42463, "relative_difference": 0.0003}  # fmt: skip
    write(
        tmp_path, "precision-torch", {"throughput": [throughput], "quality": [quality]}
    )
    text = rewrite(MARKED, tmp_path)
    row = "| torch | chatbot lstm | 7,834 tokens/s | 6,733 tokens/s | 0.86x |"
    assert row in text
    assert "| torch | traffic lstm | 10 | 0.4245 | 0.4246 | +0.03% |" in text
    assert "| jax | not measured |  |  |  |  |" in text


def test_a_missing_results_folder_exits_2_and_blanks_nothing(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text(MARKED)
    missing = str(tmp_path / "nowhere")
    assert main(["--readme", str(readme), "--results", missing]) == 2
    err = capsys.readouterr().err
    assert "--results" in err and "no such folder" in err and "\n" not in err.strip()
    assert readme.read_text() == MARKED


def test_the_cli_rewrites_the_readme(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text(MARKED)
    assert main(["--readme", str(readme), "--results", str(tmp_path)]) == 0
    assert "| torch | not measured |" in readme.read_text()
    assert f"{len(TABLES)} tables rewritten" in capsys.readouterr().out


ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_committed_readme_holds_the_committed_results():
    text = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    for name in TABLES:
        assert text.count(f"<!-- bench:{name} -->") == 1
    assert rewrite(text, ROOT / "reports" / "bench") == text
