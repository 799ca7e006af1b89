"""One line instead of an abort when a process of a distributed run is lost.

JAX's coordination service ends a process whose peers died or never came
with a C++ fatal error: an abort and a stack trace that Python cannot
catch (errors Python can catch become one line in `zoo.train.engine`).
A process the launcher started therefore runs the training in a child
process (`supervise`): the child's output passes through unchanged until
a fatal line; then the supervisor prints one line naming the process and
the reason, and exits 2. What the run directory holds then is an
interrupted run: `--resume` continues it.

Example:
>>> fatal_reason("F1123 19:51:49.606 4341 client.h:80] Terminating process "
...              "because the JAX distributed service detected fatal errors.")
'the JAX distributed service detected fatal errors'
>>> fatal_reason("Epoch 1/2") is None
True
"""

import os
import re
import signal
import subprocess
import sys

CHILD_VARIABLE = "ZOO_SUPERVISED_CHILD"
# absl's fatal line: "F1123 19:51:49.606107 4341 file.cc:80] message".
FATAL = re.compile(r"^F\d{4} [\d:.]+\s+\d+ [^\]]+\] (.*)$")


def fatal_reason(line):
    """The reason of an absl fatal line.

    Args:
        line: str, a line the child wrote on stderr.

    Returns:
        str, or None for any other line.
    """
    found = FATAL.match(line.strip())
    if not found:
        return None
    reason = found.group(1).strip()
    reason = re.sub(r"^Terminating process because ", "", reason).rstrip(".")
    return reason[:200]


def is_child():
    """Whether this process runs under `supervise` already.

    Returns:
        bool.
    """
    return os.environ.get(CHILD_VARIABLE) == "1"


def supervise(argv, prog, place):
    """Runs `python -m zoo.train argv` as a child; its exit code, or 2 if lost.

    Args:
        argv: list of str, the command line of the child.
        prog: str, the CLI's name for the error line.
        place: str, e.g. "process 1 of 2", for the error line.

    Returns:
        int: the child's exit code; 2 when it died of a lost peer.
    """
    env = dict(os.environ, **{CHILD_VARIABLE: "1"})
    # torch's C++ side logs each failed connection with a stack trace; the
    # child reports a lost peer in one line itself (a user's level wins).
    env.setdefault("TORCH_CPP_LOG_LEVEL", "FATAL")
    child = subprocess.Popen(
        [sys.executable, "-m", "zoo.train", *argv],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )
    # A scheduler's SIGTERM (or SIGHUP) to this process goes on to the child,
    # which stops like an interrupted run and says so; Ctrl-C reaches the
    # child from the terminal itself. We keep passing its output on and
    # return its code.
    previous = {
        number: signal.signal(number, lambda n, _: child.send_signal(n))
        for number in (signal.SIGTERM, signal.SIGHUP)
    }
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
    reason, child_reported = None, False
    try:
        for line in child.stderr:
            if reason is None:
                reason = fatal_reason(line)
            if reason is None:
                child_reported |= line.startswith(f"{prog}: error:")
                sys.stderr.write(line)
                sys.stderr.flush()
            # else: the fatal line and its stack trace are left out
        code = child.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if reason is None and code >= 0:
        return code
    if child_reported:  # the child's own line says why
        return 2
    if reason is None:
        why = f"it ended with signal {signal.Signals(-code).name}"
    else:
        why = reason
    lost = reason is None or any(
        word in reason.lower()
        for word in ("distributed", "coordinat", "heartbeat", "task died", "peer")
    )
    what = "lost the others" if lost else "ended"
    print(
        f"{prog}: error: {place} {what} ({why}); every process must start and "
        "stay up: see the other processes' output, then start them all again "
        "(with --resume --out RUN_DIR if the run had begun)",
        file=sys.stderr,
    )
    return 2
