"""One exception type for problems the user can fix, so CLIs print one line instead of a traceback."""

import argparse
import functools
import signal
import sys
import threading


class UserError(Exception):
    """Bad input (a file, a flag, a missing download): the message says what is wrong and where."""


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def cli_entry(main=None, *, signals: bool = True):
    """Wrap a console-script ``main`` so a ``UserError`` prints ``error: ...`` and exits with status 2.

    The same for a command-line error of a jsonargparse parser built with ``exit_on_error=False`` (LightningCLI,
    diamond-train): its one line instead of a page of usage text above it, which hides it in a terminal.

    With ``signals``, SIGTERM and SIGHUP (a closed terminal) stop the command as Ctrl-C does, so temporary
    files are removed on the way out instead of being left behind by an abrupt kill (and SDL does not turn
    SIGTERM into a "window closed" event that would end a headless run with status 0). A signal already
    ignored (``nohup``) stays ignored. Lightning's trainers handle SIGTERM themselves: ``signals=False``.
    """
    if main is None:
        return functools.partial(cli_entry, signals=signals)

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        previous = {}
        if signals and threading.current_thread() is threading.main_thread():  # only it may set handlers
            for sig in (getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)):
                if signal.getsignal(sig) is not signal.SIG_IGN:
                    previous[sig] = signal.signal(sig, _interrupt)
        try:
            return main(*args, **kwargs)
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)
        except argparse.ArgumentError as e:  # jsonargparse parsers made with exit_on_error=False: no usage dump
            print(f"error: {' '.join(str(e).split())} (every option: --help)", file=sys.stderr)
            sys.exit(2)
        except KeyboardInterrupt:
            sys.exit(130)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    return wrapper
