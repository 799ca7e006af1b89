"""`python -m zoo.chat --run RUN_DIR`: talk to a trained chatbot.

A REPL (leave with q, quit, or end of input); `--say "text"` answers once
and exits, for scripts: the reply as one line on stdout (an empty line when
the model ends it at once, which stderr then says). Any input works:
unknown words become <unk>, very long input is cut to the model's input
length, empty input is skipped by the REPL (`--say ""` is an error). Errors in the
arguments or the run directory print one line and exit 2; warnings print
one line each. The model loads for inference (nothing compiled for
training); on JAX the command keeps compiled programs in
~/.cache/keras-zoo/jax (see `_keep_jax_compilations`).

Example:
    python -m zoo.chat --run runs/suite-X/chatbot-lstm-attention --say "hello"
"""

import os
import sys

from zoo.errors import (
    USER_ERRORS,
    OneLineParser,
    ZooError,
    one_line_warnings,
    print_error,
)
from zoo.names import DECODERS

QUIT = {"q", "quit", "exit"}
# What an empty reply (the model ended it at once) is shown as.
EMPTY_REPLY = "(empty reply: the model ended it at once)"


def build_parser():
    """The parser of `python -m zoo.chat`; imports no Keras (fast --help).

    Returns:
        OneLineParser.
    """
    from zoo.cli.help_text import DefaultsFormatter
    from zoo.cli.train_arguments import add_run_setting
    from zoo.runtime import add_backend_option

    parser = OneLineParser(
        prog="python -m zoo.chat",
        description="Chat with a chatbot run of `python -m zoo.train chatbot`: "
        "a prompt to type at (q to quit), or one answer with --say.",
        formatter_class=DefaultsFormatter,
    )
    parser.add_argument("--run", required=True, help="run directory of a chatbot")
    parser.add_argument(
        "--decoder", default="greedy", help=f"one of {', '.join(DECODERS)}"
    )
    parser.add_argument("--say", help="answer this one input and exit")
    parser.add_argument(
        "--beam-width", type=int, default=4, help="beam: hypotheses kept"
    )
    parser.add_argument(
        "--length-penalty",
        type=float,
        default=0.6,
        help="beam: GNMT length penalty alpha (0 ranks by total log-probability)",
    )
    parser.add_argument(
        "--top-k", type=int, default=10, help="top-k: sample among this many tokens"
    )
    parser.add_argument(
        "--top-p",
        type=float,
        default=0.9,
        help="top-p: sample among the likeliest tokens holding this probability",
    )
    parser.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="top-k, top-p: logits are divided by it",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="top-k, top-p: sampling seed"
    )
    # The run's decoding settings, written once in zoo.config.
    for name in ("no_repeat_ngram", "repetition_penalty"):
        add_run_setting(parser, name)
    for name in ("mmi_weight", "mmi_steps"):
        add_run_setting(parser, name, prefix="greedy: ")
    add_backend_option(parser)
    return parser


class Chatbot:
    """A trained run directory, ready to answer text.

    Args:
        run_dir: str, a finished `python -m zoo.train chatbot` run.
        decoder: "greedy", "beam", "top-k" or "top-p".
        **options: decoder options (width, length_penalty, top_k, top_p,
            temperature, seed; no_repeat_ngram, repetition_penalty and, for
            greedy, mmi_weight and mmi_steps, which default to the run's
            own, so replies match its samples.json).

    Example:
    >>> Chatbot("runs/chatbot-lstm").reply("hello")  # doctest: +SKIP
    'hi'
    """

    def __init__(self, run_dir, decoder="greedy", **options):
        from zoo.decoding import DECODERS

        if decoder not in DECODERS:
            raise ZooError(f"--decoder: unknown {decoder!r}; choose from {DECODERS}")
        config = _read_config(run_dir)
        from zoo.models.seq2seq import generator_for
        from zoo.run_dir import decoding_options, filter_settings, load_vocabulary
        from zoo.saving import load_model

        self.vocab = load_vocabulary(run_dir)
        settings = config
        self.max_len = filter_settings(settings)[0] + 1
        path = os.path.join(run_dir, "model.keras")
        try:
            model = load_model(path, compile=False)
        except ZooError as error:  # an older zoo's model, not today's layers
            raise ZooError(f"--run: {path}: {error}") from None
        except Exception as error:  # noqa: BLE001  any unreadable model file
            raise ZooError(
                f"--run: cannot load {path} ({type(error).__name__}); "
                "pass the directory of a finished chatbot run"
            ) from None
        try:
            self.generator = generator_for(model)
        except ValueError:
            raise ZooError(
                f"--run: {path} is not a chatbot model ({model.name!r}); pass the "
                "directory of a chatbot run"
            ) from None
        self.decoder = decoder
        if decoder == "beam":
            keep = ("width", "length_penalty")
        elif decoder == "top-k":
            keep = ("top_k", "temperature", "seed")
        elif decoder == "top-p":
            keep = ("top_p", "temperature", "seed")
        else:
            keep = ()
        self.options = {k: v for k, v in options.items() if k in keep}
        for name, value in decoding_options(settings).items():
            if name.startswith("mmi_") and decoder != "greedy":
                continue  # MMI scores greedy search only
            given = options.get(name)
            self.options[name] = value if given is None else given

    def reply(self, text):
        """The bot's answer to `text` (str)."""
        import numpy as np

        from zoo.data.text import detokenize
        from zoo.decoding import decode

        ids = self.vocab.encode(text)[: self.max_len]
        if not ids:
            return ""
        # Padded to the model's input length, as the run's own replies were.
        source = np.zeros((1, self.max_len), dtype="int32")
        source[0, : len(ids)] = ids
        out = decode(self.generator, source, self.decoder, self.max_len, **self.options)
        return detokenize(self.vocab.decode(out[0]), self.vocab.level)


def _read_config(run_dir):
    """The checked TrainConfig of a chatbot run (ZooError otherwise)."""
    from zoo.names import CORPORA, LEVELS
    from zoo.run_dir import CONFIG, read_config

    config = read_config(run_dir, option="--run")
    if config.task != "chatbot":
        raise ZooError(
            f"--run: {run_dir} is not a chatbot run (task {config.task!r}); "
            "train one with `python -m zoo.train chatbot`"
        )
    for name, value, choices in (
        ("corpus", config.corpus, CORPORA),
        ("level", config.level, LEVELS),
    ):
        if value not in choices:
            raise ZooError(
                f"--run: {os.path.join(run_dir, CONFIG)}: unknown {name} "
                f"{value!r} (one of {list(choices)}); pass the directory of a "
                "chatbot run written by zoo.train"
            )
    return config


def repl(bot, stdin, stdout):
    """Reads lines until q/quit/exit or end of input; answers each.

    Args:
        bot: Chatbot.
        stdin: file to read lines from.
        stdout: file the prompt and the replies go to.

    Returns:
        int, the exit code (0).
    """
    print("Talk to the bot (q to quit).", file=stdout, flush=True)
    while True:
        print("> ", end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line or line.strip().casefold() in QUIT:
            print(file=stdout)
            return 0
        if not line.strip():
            continue
        print(f"bot: {bot.reply(line) or EMPTY_REPLY}", file=stdout, flush=True)


def _quiet_warnings():
    """Warnings as one line each; the decoders' expected ones not at all."""
    import warnings

    # The first decoding step of a transformer attends over one cached key:
    # Keras warns that a softmax over one entry is always 1, which is right.
    warnings.filterwarnings(
        "ignore", message="You are using a softmax over axis", category=UserWarning
    )
    one_line_warnings("zoo.chat")


def _say(bot, text):
    """Prints the reply to `text` as one line; an empty reply says so on stderr.

    Stdout stays the reply alone (an empty line when empty), for scripts; the
    note goes to stderr, one line.

    Args:
        bot: Chatbot.
        text: str, not blank.

    Returns:
        int, the exit code (0).

    Raises:
        ZooError: `text` holds no token the model reads.
    """
    if not bot.vocab.encode(text):
        raise ZooError(f"--say: {text!r} holds no token the model reads")
    reply = bot.reply(text)
    print(reply, flush=True)
    if not reply:
        print(f"zoo.chat: {EMPTY_REPLY}", file=sys.stderr)
    return 0


def main(argv=None, keep_compilations=False):
    """`python -m zoo.chat`: one answer with --say, else the REPL.

    Args:
        argv: list of str (default: sys.argv[1:]).
        keep_compilations: bool, keep JAX's compiled programs on disk (the
            command line does; see `_keep_jax_compilations`).

    Returns:
        int, the exit code: 0, 2 for bad input, 130 on Ctrl-C.
    """
    argv = sys.argv[1:] if argv is None else argv
    from zoo.runtime import apply_backend_flag

    apply_backend_flag(argv, "zoo.chat")  # before anything imports keras
    args = build_parser().parse_args(argv)
    if keep_compilations:
        _keep_jax_compilations()
    _quiet_warnings()
    try:
        # Checked before the backend loads: a typo answers at once.
        if args.decoder not in DECODERS:
            raise ZooError(
                f"--decoder: unknown {args.decoder!r}; choose from {DECODERS}"
            )
        if args.say is not None and not args.say.strip():
            raise ZooError("--say: the text is empty; pass something to answer")
        mmi = [
            f
            for f, v in (
                ("--mmi-weight", args.mmi_weight),
                ("--mmi-steps", args.mmi_steps),
            )
            if v is not None
        ]
        if mmi and args.decoder != "greedy":
            raise ZooError(
                f"{', '.join(mmi)}: MMI scores greedy search only; drop it or "
                "pass --decoder greedy"
            )  # fmt: skip
        bot = Chatbot(
            args.run,
            args.decoder,
            width=args.beam_width,
            length_penalty=args.length_penalty,
            top_k=args.top_k,
            top_p=args.top_p,
            temperature=args.temperature,
            seed=args.seed,
            no_repeat_ngram=args.no_repeat_ngram,
            repetition_penalty=args.repetition_penalty,
            mmi_weight=args.mmi_weight,
            mmi_steps=args.mmi_steps,
        )
        if args.say is not None:
            return _say(bot, args.say)
        return repl(bot, sys.stdin, sys.stdout)
    except USER_ERRORS as error:
        return print_error("zoo.chat", error)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130


def _keep_jax_compilations():
    """Lets JAX keep compiled programs on disk between runs of the command.

    On JAX, loading a model and decoding run eagerly, and every operation on
    a new shape is compiled (about 180 small programs for a transformer:
    most of a one-shot `--say`). JAX's persistent compilation cache lets the
    next chat read them back instead. Set through JAX's own environment
    variables, before JAX is imported, and only for the command-line
    process (not for code that calls zoo.chat.main); a JAX_COMPILATION_CACHE_DIR
    already set (an empty one turns the cache off) wins. Other backends
    ignore it.
    """
    import os

    from zoo.runtime import keep_jax_compilations

    if "JAX_COMPILATION_CACHE_DIR" in os.environ:
        return
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    folder = os.path.join(base, "keras-zoo", "jax")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return  # a read-only home: compile every time, as before
    if not os.access(folder, os.W_OK):
        return
    keep_jax_compilations(folder)


if __name__ == "__main__":
    sys.exit(main(keep_compilations=True))
