"""`python -m bot` starts the bot, as `insight-recall run` does; the command line is `python -m cli`.

The bot does not import the command line (the command line may start the bot, not the reverse).
"""

import sys

from config.exit_codes import ExitCode
from config.settings import ConfigError, load_settings


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return ExitCode.CONFIG
    from bot.runner import run_bot

    return run_bot(settings)


sys.exit(main())
