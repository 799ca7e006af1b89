"""The cross-backend test matrix: `make test` runs this.

Lints the project with ruff, then runs the whole pytest suite under each
Keras backend and prints one summary line per backend. Each backend's suite
runs as three pytest processes (shards: the layers with the docstring
examples, the training CLIs, the rest), two processes at a time, longest
first: one process per backend left one core idle while the JAX lane
finished alone. Exits non-zero if the lint or any shard fails.

Usage: python tests/matrix.py [--backends jax,torch,tensorflow]
       [--whole] [pytest args]   (--whole: one process per backend; test
       paths in the pytest args imply it)
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

BACKENDS = ("jax", "torch", "tensorflow")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# pytest's last line, e.g. "88 passed, 2 skipped in 48.40s" (with -q: no "===").
SUMMARY = re.compile(
    r"^=*\s*(\d+ (?:passed|failed|errors?|skipped|deselected)\b.*?) in [\d.]+s"
)


def count(summary, word):
    match = re.search(rf"(\d+) {word}", summary)
    return int(match.group(1)) if match else 0


# XLA (JAX, and TensorFlow's jit_compile) compiles each tiny test program with
# full LLVM optimization, which costs more than running it: the tests check
# numbers, not speed, so they compile with the cheap optimization level, and
# with XLA:CPU's classic elementwise emitters instead of its MLIR fusion
# emitters (JAX's layer shard: 4,230 programs, backend compile 111 s -> 54 s,
# the shard 205 s -> 146 s; TensorFlow's jit_compile likewise).
# Benchmarks (`python -m zoo.bench`) and training never set this.
XLA_TEST_FLAGS = (
    "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
    " --xla_cpu_use_fusion_emitters=false"
)


# The shards of one backend's suite; together they are pyproject's testpaths.
LAYER_PATHS = ["tests/layers", "zoo", "solutions"]
TRAIN_PATHS = ["tests/train"]
# Seconds each shard took in `make test` on this machine (2026-12-08, an
# AMD EPYC, two shards at a time, thread pools of one, pdflatex and
# chromium installed as .ci/run does), only to start the
# longest first: a shard that waits for the last free slot then is short.
WEIGHTS = {
    ("torch", "rest"): 153,
    ("jax", "layers"): 145,
    ("jax", "rest"): 125,
    ("tensorflow", "rest"): 104,
    ("jax", "train"): 102,
    ("tensorflow", "train"): 101,
    ("torch", "train"): 67,
    ("tensorflow", "layers"): 38,
    ("torch", "layers"): 9,
}


def shards(whole):
    """{name: pytest paths} of one backend's suite ([] for the testpaths).

    Args:
        whole: bool, one shard of the whole suite (or the user's paths).

    Returns:
        dict of str to list of str.
    """
    if whole:
        return {"all": []}
    # Everything else under tests/, whatever is added there later.
    rest = ["tests", *(f"--ignore={path}" for path in LAYER_PATHS + TRAIN_PATHS)]
    return {"layers": LAYER_PATHS, "train": TRAIN_PATHS, "rest": rest}


# TensorFlow turns oneDNN's custom operations on by itself only on CPUs with
# AVX-512 VNNI/BF16 or AMX (most Intel Xeons); forced on here, every machine
# runs the suite as those do: oneDNN's kernels (whose softmax refuses rank > 5
# and whose sums round differently) and the start-up lines it prints, which
# the CLIs' one-line tests must never see. Under JAX and torch it makes any
# stray import of TensorFlow by a CLI visible on stderr.
ONEDNN = {"TF_ENABLE_ONEDNN_OPTS": "1"}


# Thread pools sized for the processes that share the cores: by default
# every pytest process (and each CLI it starts) opens one thread per core in
# torch (OpenMP), TensorFlow, numpy's OpenBLAS and MKL, and two processes on
# two cores then preempt each other's threads, which spin while they wait.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)


def thread_limits(jobs, cores=None):
    """{variable: threads} for `jobs` pytest processes sharing `cores`.

    Example:
    >>> thread_limits(2, cores=2)["OMP_NUM_THREADS"]
    '1'
    >>> thread_limits(1, cores=8)["TF_NUM_INTRAOP_THREADS"]
    '8'
    """
    threads = max(1, (cores or os.cpu_count() or 1) // max(1, jobs))
    return {name: str(threads) for name in THREAD_VARIABLES}


def start_pytest(backend, shard, paths, extra_args, jobs):
    """Starts one shard of a backend's suite; its output goes to a temporary file."""
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3", **ONEDNN)
    env.setdefault("XLA_FLAGS", XLA_TEST_FLAGS)  # a user's own flags win
    for name, threads in thread_limits(jobs).items():
        env.setdefault(name, threads)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    cmd += [*extra_args, *paths]
    log = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
    )
    return {
        "backend": backend,
        "shard": shard,
        "process": process,
        "log": log,
        "cmd": " ".join(cmd[1:]),
        "start": time.monotonic(),
    }


def finish_pytest(run):
    """Waits, prints the backend's whole output, returns (code, summary, s)."""
    code = run["process"].wait()
    seconds = time.monotonic() - run["start"]
    run["log"].seek(0)
    print(f"\n===== KERAS_BACKEND={run['backend']}: {run['cmd']}", flush=True)
    summary = ""
    for line in run["log"]:
        sys.stdout.write(line)
        found = SUMMARY.search(line)
        if found:
            summary = found.group(1)
    run["log"].close()
    sys.stdout.flush()
    return code, summary, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--no-lint", action="store_true", help="skip ruff")
    parser.add_argument(
        "--jobs",
        type=int,
        default=2,
        help="pytest processes run at once (one a core on a 2-core machine)",
    )
    parser.add_argument(
        "--whole", action="store_true", help="one pytest process per backend"
    )
    args, extra = parser.parse_known_args()
    backends = [b for b in args.backends.split(",") if b]
    # Test paths of the user's own run once per backend, not once per shard.
    whole = args.whole or any(
        os.path.exists(os.path.join(ROOT, arg.split("::")[0]))
        for arg in extra
        if not arg.startswith("-")
    )
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        print(f"--backends: unknown {unknown}; choose from {list(BACKENDS)}")
        return 2

    failed = False
    lint = "skipped"
    if not args.no_lint:
        checks = [["ruff", "check", "."], ["ruff", "format", "--check", "."]]
        codes = [subprocess.call([sys.executable, "-m", *c]) for c in checks]
        lint = "ok" if not any(codes) else "FAILED"
        failed |= any(codes)

    rows, totals = [], {"passed": 0, "failed": 0, "skipped": 0}
    wall = time.monotonic()
    suite = shards(whole).items()
    jobs = [(backend, name, paths) for backend in backends for name, paths in suite]
    queue = sorted(jobs, key=lambda job: -WEIGHTS.get(job[:2], 0))
    running, results = [], {}
    while running or queue:
        while queue and len(running) < max(1, args.jobs):
            running.append(start_pytest(*queue.pop(0), extra, args.jobs))
        done = [r for r in running if r["process"].poll() is not None]
        if not done:
            time.sleep(0.5)
            continue
        running.remove(done[0])
        results[done[0]["backend"], done[0]["shard"]] = finish_pytest(done[0])
    for backend in backends:
        parts = [v for k, v in results.items() if k[0] == backend]
        # pytest exit 5 = no tests collected: a shard that a -k or -m left
        # empty is fine, a backend that ran nothing fails.
        codes = [code for code, _, _ in parts if code not in (0, 5)]
        if all(code == 5 for code, _, _ in parts):
            codes = [5]
        counts = {word: 0 for word in (*totals, "error")}
        for _, summary, _ in parts:
            for word in counts:
                counts[word] += count(summary, word)
        failed |= bool(codes)
        for word in totals:
            totals[word] += counts[word]
        totals["failed"] += counts["error"]
        seconds = sum(s for _, _, s in parts)
        status = "ok" if not codes else f"FAILED (exit {codes[0]})"
        counts["errors"] = counts.pop("error")
        summary = ", ".join(f"{n} {w}" for w, n in counts.items() if n)
        rows.append(
            f"{backend:<11} {status:<16} {summary or 'no summary'} "
            f"({seconds:.0f}s in {len(parts)} process{'es' * (len(parts) > 1)})"
        )

    print("\n===== test matrix")
    print(f"{'ruff':<11} {lint}")
    for row in rows:
        print(row)
    print(f"wall time {time.monotonic() - wall:.0f}s")
    line = f"{totals['passed']} passed, {totals['failed']} failed"
    print(f"matrix: {line}, {totals['skipped']} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
