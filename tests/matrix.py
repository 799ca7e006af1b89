"""The cross-backend test matrix: `make test` runs this.

Lints the project with ruff, then runs the whole pytest suite once per Keras
backend, each in its own process, and prints one summary line per backend.
Exits non-zero if the lint or any backend fails.

Usage: python tests/matrix.py [--backends jax,torch,tensorflow] [pytest args]
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

BACKENDS = ("jax", "torch", "tensorflow")
# pytest's last line, e.g. "88 passed, 2 skipped in 48.40s" (with -q: no "===").
SUMMARY = re.compile(
    r"^=*\s*(\d+ (?:passed|failed|errors?|skipped|deselected)\b.*?) in [\d.]+s"
)


def count(summary, word):
    match = re.search(rf"(\d+) {word}", summary)
    return int(match.group(1)) if match else 0


# XLA (JAX, and TensorFlow's jit_compile) compiles each tiny test program with
# full LLVM optimization, which costs more than running it: the tests check
# numbers, not speed, so they compile with the cheap optimization level.
# Benchmarks (`python -m zoo.bench`) and training never set this.
XLA_TEST_FLAGS = (
    "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
)


def start_pytest(backend, extra_args):
    """Starts the suite for one backend; its output goes to a temporary file."""
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    env.setdefault("XLA_FLAGS", XLA_TEST_FLAGS)  # a user's own flags win
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra_args]
    log = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    return {
        "backend": backend,
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
        help="backends run at once (JAX spends much of its time compiling on one "
        "core, so two overlap well on a 2-core machine)",
    )
    args, extra = parser.parse_known_args()
    backends = [b for b in args.backends.split(",") if b]
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
    running = [start_pytest(b, extra) for b in backends[: max(1, args.jobs)]]
    queue = backends[len(running) :]
    results = {}
    while running:
        done = [r for r in running if r["process"].poll() is not None]
        if not done:
            time.sleep(0.5)
            continue
        running.remove(done[0])
        results[done[0]["backend"]] = finish_pytest(done[0])
        if queue:
            running.append(start_pytest(queue.pop(0), extra))
    for backend in backends:
        code, summary, seconds = results[backend]
        # pytest exit 5 = no tests collected: a matrix that ran nothing fails.
        ok = code == 0
        failed |= not ok
        for word in totals:
            totals[word] += count(summary, word)
        totals["failed"] += count(summary, "error")
        status = "ok" if ok else f"FAILED (exit {code})"
        rows.append(
            f"{backend:<11} {status:<16} {summary or 'no summary'} ({seconds:.0f}s)"
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
