"""One exception type for problems the user can fix, so CLIs print one line instead of a traceback."""

import functools
import sys


class UserError(Exception):
    """Bad input (a file, a flag, a missing download): the message says what is wrong and where."""


def cli_entry(main):
    """Wrap a console-script ``main`` so a ``UserError`` prints ``error: ...`` and exits with status 2."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)
        except KeyboardInterrupt:
            sys.exit(130)

    return wrapper
