"""What every root script shares: quiet TensorFlow, and known errors as one stderr line."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence

from yolo3.defaults import input_size_problem
from yolo3.errors import YoloError


@contextlib.contextmanager
def parked_stderr():
    """Run the block with file descriptor 2 parked in a temporary file: C++ libraries
    (TensorFlow, LiteRT) write notices there before, or regardless of, any log setting.
    What they wrote is replayed only if the block fails."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            capture.seek(0)
            sys.stderr.write(capture.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def quiet_tensorflow() -> None:
    """Import TensorFlow without its start-up chatter (oneDNN/absl/CUDA notices), unless
    the user asked for logs."""
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    with parked_stderr():
        import keras  # noqa: F401
        import tensorflow

        # device discovery is where GPU builds report a missing CUDA driver
        tensorflow.config.list_physical_devices()


def inference_only_process() -> None:
    """Let oneDNN keep convolution weights pre-arranged between calls (≈10 % faster).

    TF_ONEDNN_ASSUME_FROZEN_WEIGHTS=1 promises TensorFlow that no weight changes for the
    life of the process: call this only in processes that never train (yolo_video.py,
    evaluate.py), and before TensorFlow is imported.
    """
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_ONEDNN_ASSUME_FROZEN_WEIGHTS", "1")


class Terminated(BaseException):
    """SIGTERM (``timeout``, ``docker stop``, a cluster's pre-emption) as an exception, so
    that every ``finally`` runs and temporary files are removed."""


def _raise_terminated(signum, frame):
    raise Terminated()


def run(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None,
        prog: str | None = None) -> int:
    """Call ``main(argv)``; turn expected failures into ``prog: error: ...`` and exit code 1.

    Ctrl-C exits with 130 and SIGTERM with 143, each after the running write is cleaned
    up. Programming errors still raise with a traceback: those are bugs to report, not
    input problems to explain.
    """
    prog = prog or os.path.basename(sys.argv[0])
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return main(argv) or 0
    except YoloError as error:
        message = str(error)
    except FileNotFoundError as error:
        message = f"no such file: {error.filename}"
    except IsADirectoryError as error:
        message = f"expected a file, found a directory: {error.filename}"
    except OSError as error:
        where = f": {error.filename}" if error.filename else ""
        message = f"{error.strerror or error}{where}"
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print(f"{prog}: terminated", file=sys.stderr)
        return 143
    print(f"{prog}: error: {message}", file=sys.stderr)
    return 1


def add_max_pixels(parser: argparse.ArgumentParser) -> None:
    """--max_pixels: the image-size limit of every tool that reads images."""
    from yolo3.images import DEFAULT_MAX_PIXELS

    parser.add_argument("--max_pixels", "--max-pixels", dest="max_pixels", type=positive_int,
                        default=DEFAULT_MAX_PIXELS,
                        help=f"skip images with more pixels than this (default "
                             f"{DEFAULT_MAX_PIXELS:,}; protects against decompression bombs)")


def add_runtime(parser: argparse.ArgumentParser, what: str) -> None:
    """--runtime: what runs a model file, from the table of formats (yolo3.formats)."""
    from yolo3.formats import RUNTIMES, runtime_help

    parser.add_argument("--runtime", choices=RUNTIMES, help=runtime_help(what))


def apply_max_pixels(args: argparse.Namespace) -> None:
    from yolo3.images import set_max_pixels

    set_max_pixels(args.max_pixels)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def positive_float(text: str) -> float:
    """A finite number above 0 (learning rates: nan and inf train nothing)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be a finite number above 0")
    return value


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line and exits with status 2, and
    takes every long flag spelled with underscores or hyphens (``--output_dir`` and
    ``--output-dir``), whichever way the script declares it."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")

    def parse_known_args(self, args=None, namespace=None):
        args = sys.argv[1:] if args is None else list(args)
        end = args.index("--") if "--" in args else len(args)
        spelled = [self._declared_spelling(a) for a in args[:end]] + args[end:]
        return super().parse_known_args(spelled, namespace)

    def _declared_spelling(self, arg: str) -> str:
        if not arg.startswith("--"):
            return arg
        flag, equals, value = arg.partition("=")
        if flag in self._option_string_actions:
            return arg
        for other in ("--" + flag[2:].replace("_", "-"), "--" + flag[2:].replace("-", "_")):
            if other in self._option_string_actions:
                return other + equals + value
        return arg


def image_size(text: str) -> tuple[int, int]:
    """'416' → (416, 416); '320,608' or '320x608' → (height, width)."""
    parts = text.lower().replace("x", ",").split(",")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 416 or 320,608") from None
    if len(values) == 1:
        values *= 2
    problem = "give one or two numbers" if len(values) != 2 else input_size_problem(*values)
    if problem:
        raise argparse.ArgumentTypeError(f"{text!r}: {problem}")
    return values[0], values[1]


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value
