"""`python -m zoo.chat --run RUN_DIR`: talk to a trained chatbot.

A REPL (leave with q, quit, or end of input); `--say "text"` answers once
and exits, for scripts. Any input works: unknown words become <unk>, very
long input is cut to the model's input length, empty input is skipped.
Errors in the arguments or the run directory print one line and exit 2.

Example:
    python -m zoo.chat --run runs/suite-X/chatbot-lstm-attention --say "hello"
"""

import argparse
import json
import os
import sys

from zoo.errors import OneLineParser, ZooError

QUIT = {"q", "quit", "exit"}


def build_parser():
    parser = OneLineParser(
        prog="python -m zoo.chat",
        description="Chat with a chatbot run of `python -m zoo.train chatbot`.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--run", required=True, help="run directory of a chatbot")
    parser.add_argument("--decoder", default="greedy", help="greedy|beam|top-k|top-p")
    parser.add_argument("--say", help="answer this one input and exit")
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--length-penalty", type=float, default=0.6)
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--top-p", type=float, default=0.9)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-repeat-ngram",
        type=int,
        help="block repeated n-grams (default: the run's setting)",
    )
    parser.add_argument(
        "--repetition-penalty",
        type=float,
        help="CTRL repetition penalty (default: the run's setting)",
    )
    parser.add_argument(
        "--backend",
        choices=["jax", "torch", "tensorflow"],
        help="sets KERAS_BACKEND when it is not set already",
    )
    return parser


class Chatbot:
    """A trained run directory, ready to answer text.

    Args:
        run_dir: str, a finished `python -m zoo.train chatbot` run.
        decoder: "greedy", "beam", "top-k" or "top-p".
        **options: decoder options (width, length_penalty, top_k, top_p,
            temperature, seed; no_repeat_ngram and repetition_penalty, which
            default to the run's own, so replies match its samples.json).

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
        from zoo.saving import load_model
        from zoo.train.chatbot_task import (
            decoding_options,
            filter_settings,
            load_vocabulary,
        )
        from zoo.train.config import TrainConfig

        self.vocab = load_vocabulary(run_dir)
        settings = TrainConfig.from_dict(config)
        self.max_len = filter_settings(settings)[0] + 1
        path = os.path.join(run_dir, "model.keras")
        try:
            model = load_model(path, compile=False)
        except Exception as error:  # noqa: BLE001  any unreadable model file
            raise ZooError(
                f"--run: cannot load {path} ({type(error).__name__}); "
                "pass the directory of a finished chatbot run"
            ) from None
        self.generator = generator_for(model)
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
    path = os.path.join(run_dir, "config.json")
    if not os.path.isdir(run_dir):
        raise ZooError(f"--run: no directory {run_dir!r}")
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
        config.pop("environment", None)
    except (OSError, ValueError) as error:
        raise ZooError(
            f"--run: {path} is missing or corrupt ({type(error).__name__}); "
            "pass the directory of a chatbot run"
        ) from None
    if not isinstance(config, dict) or config.get("task") != "chatbot":
        raise ZooError(
            f"--run: {run_dir} is not a chatbot run (task "
            f"{config.get('task') if isinstance(config, dict) else None!r}); "
            "train one with `python -m zoo.train chatbot`"
        )
    return config


def repl(bot, stdin, stdout):
    """Reads lines until q/quit/exit or end of input; answers each."""
    print("Talk to the bot (q to quit).", file=stdout, flush=True)
    while True:
        print("> ", end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line or line.strip().casefold() in QUIT:
            print(file=stdout)
            return 0
        if not line.strip():
            continue
        print(f"bot: {bot.reply(line) or '...'}", file=stdout, flush=True)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    from zoo.runtime import apply_backend_flag

    apply_backend_flag(argv)  # before anything imports keras
    args = build_parser().parse_args(argv)
    try:
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
        )
        if args.say is not None:
            print(bot.reply(args.say))
            return 0
        return repl(bot, sys.stdin, sys.stdout)
    except ZooError as error:
        print(f"zoo.chat: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
