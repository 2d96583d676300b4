"""yolo3.cli: errors become one stderr line and an exit code."""

from __future__ import annotations

import pytest

from yolo3.cli import ArgumentParser, run
from yolo3.errors import YoloError


def failing(error):
    def main(argv):
        raise error
    return main


@pytest.mark.parametrize("error, expected", [
    (YoloError("the cfg is odd"), "prog: error: the cfg is odd\n"),
    (FileNotFoundError(2, "No such file", "x.cfg"), "prog: error: no such file: x.cfg\n"),
    (PermissionError(13, "Permission denied", "out.h5"),
     "prog: error: Permission denied: out.h5\n"),
])
def test_known_errors(capsys, error, expected):
    assert run(failing(error), [], prog="prog") == 1
    assert capsys.readouterr().err == expected


def test_bugs_still_raise():
    with pytest.raises(ZeroDivisionError):
        run(failing(ZeroDivisionError()), [], prog="prog")


def test_success_and_interrupt(capsys):
    assert run(lambda argv: None, []) == 0
    assert run(failing(KeyboardInterrupt()), [], prog="prog") == 130


def test_usage_error_is_one_line(capsys):
    parser = ArgumentParser(prog="tool")
    parser.add_argument("--n", type=int)
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["--n", "x"])
    assert info.value.code == 2
    expected = "tool: error: argument --n: invalid int value: 'x' (see --help)\n"
    assert capsys.readouterr().err == expected


def test_inference_only_setting_waits_for_a_fresh_process(monkeypatch):
    """Once TensorFlow is imported (as here), the promise cannot be made any more."""
    import tensorflow  # noqa: F401

    from yolo3.cli import inference_only_process

    monkeypatch.delenv("TF_ONEDNN_ASSUME_FROZEN_WEIGHTS", raising=False)
    inference_only_process()
    import os
    assert "TF_ONEDNN_ASSUME_FROZEN_WEIGHTS" not in os.environ


def test_every_long_flag_takes_underscores_or_hyphens():
    parser = ArgumentParser(prog="prog")
    parser.add_argument("--output_dir")
    parser.add_argument("--model-name")
    parser.add_argument("rest", nargs="*")
    args = parser.parse_args(["--output-dir", "a", "--model_name=b", "--", "--output-dir"])
    assert (args.output_dir, args.model_name, args.rest) == ("a", "b", ["--output-dir"])
    assert parser.parse_args(["--output_dir=c", "--model-name", "d"]).output_dir == "c"


def test_unknown_flags_stay_one_line(capsys):
    parser = ArgumentParser(prog="prog")
    parser.add_argument("--output_dir")
    with pytest.raises(SystemExit) as stop:
        parser.parse_args(["--outputdir", "x"])
    assert stop.value.code == 2
    assert capsys.readouterr().err == ("prog: error: unrecognized arguments: --outputdir x "
                                       "(see --help)\n")
