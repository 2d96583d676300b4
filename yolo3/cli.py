"""What every root script shares: quiet TensorFlow, and known errors as one stderr line."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Sequence

from yolo3.errors import YoloError


def quiet_tensorflow() -> None:
    """Import TensorFlow without its start-up chatter, unless the user asked for logs.

    TensorFlow's C++ side writes oneDNN/absl/CUDA notices straight to file descriptor 2
    before any setting applies, so the import runs with that descriptor parked in a temporary
    file; what it wrote is replayed only if the import fails.
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import keras  # noqa: F401
            import tensorflow

            # device discovery is where GPU builds report a missing CUDA driver
            tensorflow.config.list_physical_devices()
        except BaseException:
            os.dup2(saved, 2)
            capture.seek(0)
            sys.stderr.write(capture.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def inference_only_process() -> None:
    """Let oneDNN keep convolution weights pre-arranged between calls (≈10 % faster).

    TF_ONEDNN_ASSUME_FROZEN_WEIGHTS=1 promises TensorFlow that no weight changes for the
    life of the process: call this only in processes that never train (yolo_video.py,
    evaluate.py), and before TensorFlow is imported.
    """
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_ONEDNN_ASSUME_FROZEN_WEIGHTS", "1")


def run(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None,
        prog: str | None = None) -> int:
    """Call ``main(argv)``; turn expected failures into ``prog: error: ...`` and exit code 1.

    Programming errors still raise with a traceback: those are bugs to report, not input
    problems to explain.
    """
    prog = prog or os.path.basename(sys.argv[0])
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
    print(f"{prog}: error: {message}", file=sys.stderr)
    return 1


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line and exits with status 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")
