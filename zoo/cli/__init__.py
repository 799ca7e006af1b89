"""The command lines' parsers and help, light on purpose (no Keras: `--help`
and a bad argument answer at once): `train_arguments` (the parser of
`python -m zoo.train`, generated from `zoo.config.TrainConfig`'s fields, and
the checks of its arguments), `help_text` (every default shown, presets
spelled out; `zoo.chat` uses its formatter too)."""
