"""`python -m bot` (or `python -m bot run`) starts the bot, as `insight-recall run` does; the command
line itself is `insight-recall`, or `python -m cli`.

The bot does not import the command line (the command line may start the bot, not the reverse).
"""

import sys

from config.exit_codes import ExitCode
from config.logs import configure_logging
from config.settings import ConfigError, load_settings


def main(arguments: list[str]) -> int:
    if arguments not in ([], ["run"]):
        print(
            "error: python -m bot starts the bot and takes no arguments; "
            f"for `{' '.join(arguments)}` use insight-recall (or python -m cli)",
            file=sys.stderr,
        )
        return ExitCode.CONFIG
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return ExitCode.CONFIG
    configure_logging(settings)
    from bot.runner import run_bot

    return run_bot(settings)


sys.exit(main(sys.argv[1:]))
