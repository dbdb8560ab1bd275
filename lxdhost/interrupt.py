"""How the program ends: at once and without a traceback when the Pulumi engine interrupts it,
and with the status that says it has shown its own error."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from types import FrameType

# What a shell reports for a command that SIGINT ended.
INTERRUPTED_EXIT_CODE = 128 + signal.SIGINT

# pulumi-language-python-exec's exit status for "the program has shown its error to the user":
# after it the engine adds nothing, where after a RunError (exit status 1) it adds "an unhandled
# error occurred: program exited with non-zero exit code: 1", which reads as a crash.
ERROR_REPORTED_EXIT_CODE = 32


def exit_quietly_when_interrupted() -> None:
    """End the process at once on SIGINT, instead of raising KeyboardInterrupt.

    The language host sends SIGINT to a program the engine no longer needs: a preview that a
    mandatory policy failed, a cancelled update. Python raises KeyboardInterrupt wherever the main
    thread is, most often in the interpreter's wait at exit for the SDK's threads, whose gRPC calls
    the stopped engine never answers, and prints that traceback under the engine's Diagnostics.
    The program holds nothing to clean up (the engine keeps the state), so it skips that wait.
    Only the main thread can set a handler; elsewhere Python's own stays.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _exit_at_once)


def _exit_at_once(signum: int, frame: FrameType | None) -> None:
    for stream in (sys.stdout, sys.stderr):
        # A stream closed, or interrupted mid-write: what it held is lost either way.
        with contextlib.suppress(OSError, RuntimeError, ValueError):
            stream.flush()
    os._exit(INTERRUPTED_EXIT_CODE)
