"""The program, interrupted as the language host interrupts it, ends without a traceback."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from lxdhost.interrupt import INTERRUPTED_EXIT_CODE
from lxdhost.offline import PROJECT_ROOT, run_program

# A program whose main thread has ended while a non-daemon thread still waits, as the SDK's
# threads wait on a gRPC call that a stopped engine never answers: the interpreter sits in its
# wait for that thread at exit when SIGINT comes.
PROGRAM = """
import sys, threading
from lxdhost.interrupt import exit_quietly_when_interrupted
if sys.argv[1] == "quiet":
    exit_quietly_when_interrupted()
threading.Thread(target=threading.Event().wait).start()
print("ready", flush=True)
"""


def interrupted_at_exit(mode: str) -> subprocess.CompletedProcess[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", PROGRAM, mode],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    time.sleep(0.5)  # past the end of the main thread, into the wait at exit
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_python_prints_a_traceback_when_interrupted_at_exit() -> None:
    """The control: what the engine's Diagnostics showed under `pulumi preview`."""
    result = interrupted_at_exit("default")
    assert "Exception ignored in: <module 'threading'" in result.stderr
    assert "KeyboardInterrupt" in result.stderr


def test_the_program_ends_at_once_and_quietly_when_interrupted() -> None:
    result = interrupted_at_exit("quiet")
    assert (result.returncode, result.stderr) == (INTERRUPTED_EXIT_CODE, "")


def test_the_offline_engine_gives_its_caller_sigint_back() -> None:
    """The program takes SIGINT over; a run in the tests' own process must not keep it."""
    before = signal.getsignal(signal.SIGINT)
    run = run_program("dev")
    assert run.resources
    assert signal.getsignal(signal.SIGINT) is before
