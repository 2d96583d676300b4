"""convert.py end to end, as a user runs it: conversions, round trips, every bad input."""

from __future__ import annotations

import re

import keras
import pytest

import convert
from helpers import (
    CFG,
    REPO,
    assert_one_line_error,
    random_conv_weights,
    run_script,
    write_random_weights,
)
from yolo3.cli import run
from yolo3.darknet import DarknetHeader, load_cfg, with_classes
from yolo3.model.files import read_metadata


def convert_in_process(capsys, *argv):
    """Run convert.py's main as the script does; return (exit code, stdout, stderr)."""
    code = run(convert.main, [str(a) for a in argv], prog="convert.py")
    out, err = capsys.readouterr()
    return code, out, err


def test_real_tiny_weights_to_a_full_model(tmp_path, tiny_weights):
    output = tmp_path / "yolov3-tiny.h5"
    result = run_script("convert.py", str(CFG / "yolov3-tiny.cfg"), str(tiny_weights),
                        str(output))
    assert result.returncode == 0, result.stderr
    assert "Read 8858734 of 8858734 floats" in result.stdout
    assert result.stderr == ""  # TensorFlow's start-up noise stays hidden
    model = keras.models.load_model(output, compile=False)  # no custom objects needed
    assert model.output_names == ["conv_15", "conv_22"]
    metadata = read_metadata(output)
    assert metadata.class_names[:3] == ["person", "bicycle", "car"]
    assert metadata.config().anchors.tolist()[0] == [10, 14]
    assert metadata.darknet_header == DarknetHeader(0, 2, 0, 32013312)


@pytest.mark.parametrize("name, flags", [("m.h5", []), ("m.keras", []),
                                         ("m.h5", ["-w"]), ("m.weights.h5", ["-w"])])
def test_round_trip_reproduces_the_weights_file_byte_for_byte(
        tmp_path, capsys, tiny_weights, name, flags):
    model_path = tmp_path / name
    code, _, err = convert_in_process(capsys, *flags, CFG / "yolov3-tiny.cfg", tiny_weights,
                                      model_path)
    assert code == 0, err
    back = tmp_path / "back.weights"
    code, out, err = convert_in_process(capsys, "--to_darknet", model_path, back)
    assert code == 0, err
    assert back.read_bytes() == tiny_weights.read_bytes()
    assert (tmp_path / "back.cfg").read_text() == (CFG / "yolov3-tiny.cfg").read_text()
    assert "Wrote 8858734 floats" in out


def test_old_16_byte_header_round_trips(tmp_path, capsys):
    config = load_cfg(CFG / "yolov3-tiny.cfg")
    weights = write_random_weights(tmp_path / "old.weights", config,
                                   header=DarknetHeader(0, 1, 0, 4242))
    code, out, _ = convert_in_process(capsys, CFG / "yolov3-tiny.cfg", weights, tmp_path / "m.h5")
    assert code == 0 and "Darknet 0.1.0, 4242 images seen" in out
    convert_in_process(capsys, "--to_darknet", tmp_path / "m.h5", tmp_path / "back.weights")
    assert (tmp_path / "back.weights").read_bytes() == weights.read_bytes()


@pytest.mark.slow
def test_full_yolov3_round_trip(tmp_path, random_weights):
    weights = random_weights("yolov3")
    assert weights.stat().st_size == 248_007_048
    result = run_script("convert.py", "-w", str(CFG / "yolov3.cfg"), str(weights),
                        str(tmp_path / "yolo_weights.h5"))
    assert result.returncode == 0, result.stderr
    assert "Read 62001757 of 62001757 floats" in result.stdout
    result = run_script("convert.py", "--to_darknet", str(tmp_path / "yolo_weights.h5"),
                        str(tmp_path / "back.weights"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "back.weights").read_bytes() == weights.read_bytes()


def test_custom_class_cfg_from_coco_weights(tmp_path, tiny_weights):
    """The seed README's flow: a cfg edited for one class, converted from 80-class weights."""
    custom_cfg = tmp_path / "yolov3-tiny-custom1class.cfg"
    custom_cfg.write_text(with_classes(load_cfg(CFG / "yolov3-tiny.cfg"), 1).text)
    output = tmp_path / "yolov3-custom-base.h5"
    result = run_script("convert.py", "-w", str(custom_cfg), str(tiny_weights), str(output))
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stdout.splitlines() if "freshly initialised" in line]
    assert notes == [
        "Detection heads (layers 15, 22) start freshly initialised: the weights were trained "
        f"for 80 classes, {custom_cfg} has 1; every other layer takes the file's values."]
    assert "Read 8858734 of 8858734 floats" in result.stdout
    assert "pass --classes_path" in result.stdout


def test_export_a_model_without_metadata_needs_its_cfg(tmp_path, capsys):
    config = load_cfg(CFG / "yolov3-tiny.cfg")
    from yolo3.model.build import build_model, set_darknet_weights

    model = build_model(config)
    set_darknet_weights(model, config, random_conv_weights(config))
    model.save(tmp_path / "plain.keras")
    code, _, err = convert_in_process(capsys, "--to_darknet", tmp_path / "plain.keras",
                                      tmp_path / "out.weights")
    assert code == 1 and "carries no cfg: pass --cfg" in err
    code, _, err = convert_in_process(capsys, "--to_darknet", "--cfg", CFG / "yolov3-tiny.cfg",
                                      tmp_path / "plain.keras", tmp_path / "out.weights")
    assert code == 0, err
    assert (tmp_path / "out.weights").stat().st_size == 35_434_956
    assert not (tmp_path / "out.cfg").exists()  # the user has the cfg already


def test_plot_without_graphviz_is_a_note(tmp_path, capsys, tiny_weights, monkeypatch):
    def no_graphviz(*args, **kwargs):
        raise ImportError("You must install pydot (`pip install pydot`) for `plot_model`")

    monkeypatch.setattr(keras.utils, "plot_model", no_graphviz)
    code, _, err = convert_in_process(capsys, "-p", CFG / "yolov3-tiny.cfg", tiny_weights,
                                      tmp_path / "m.h5")
    assert code == 0
    assert err.startswith("note: model plot skipped (You must install pydot")
    assert (tmp_path / "m.h5").exists() and not (tmp_path / "m.png").exists()


def bad_cfg(tmp_path, body):
    path = tmp_path / "bad.cfg"
    path.write_text("[net]\nchannels=3\n" + body)
    return path


CONV = "[convolutional]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=1\npad=1\nactivation=leaky\n"


@pytest.mark.parametrize("case, pattern", [
    ("truncated", r"truncated: layer 22 \[convolutional\] at line \d+ needs 65535 floats but "
                  r"only 65435 are left \(the cfg needs 8858734 in all, the file holds 8858634\)"),
    ("too long", r"holds 8858834 floats but .*needs 8858734: 100 would be left over"),
    ("yolo mismatch", r"classes=80 with 3 anchors needs filters=255 .* found filters=254"),
    ("unknown section", r"unsupported section \[crop\]"),
    ("unknown activation", r"unsupported activation 'hardtan'"),
    ("unbuilt option", r"bad\.cfg: line 4: layer 0 \[convolutional\] at line 3: option "
                       r"antialiasing=1 is not supported \(it would change what the network "
                       r"computes\)"),
    ("new_coords head", r"must be activation=logistic without batch_normalize "
                        r"\(new_coords=1\)"),
    ("missing cfg", r"no such file: .*missing\.cfg"),
    ("missing weights", r"no such file: .*missing\.weights"),
    ("unwritable output", r"cannot write .*blocker/out\.h5: .*blocker is a file, not a folder"),
    ("bad extension", r"must end in \.h5, \.weights\.h5 or \.keras"),
    ("weights-only keras", r"a \.keras file holds a full model"),
    ("class count", r"names 3 classes; the cfg has 80"),
    ("not weights", r"too short for a Darknet weights file"),
])
def test_bad_input_is_one_line_and_no_output(tmp_path, capsys, tiny_weights, case, pattern):
    cfg, weights, output, flags = CFG / "yolov3-tiny.cfg", tiny_weights, tmp_path / "out.h5", []
    data = tiny_weights.read_bytes()
    if case == "truncated":
        weights = tmp_path / "t.weights"
        weights.write_bytes(data[:-400])
    elif case == "too long":
        weights = tmp_path / "t.weights"
        weights.write_bytes(data + b"\0" * 400)
    elif case == "yolo mismatch":
        cfg = tmp_path / "bad.cfg"
        text = (CFG / "yolov3-tiny.cfg").read_text()
        cfg.write_text(text.replace("filters=255", "filters=254", 1))
    elif case == "unknown section":
        cfg = bad_cfg(tmp_path, CONV + "[crop]\ncrop_width=10\n")
    elif case == "unknown activation":
        cfg = bad_cfg(tmp_path, CONV.replace("leaky", "hardtan"))
    elif case == "unbuilt option":
        cfg = bad_cfg(tmp_path, CONV.replace("[convolutional]\n",
                                             "[convolutional]\nantialiasing=1\n"))
    elif case == "new_coords head":  # a linear head read as probabilities: wrong boxes
        cfg = tmp_path / "bad.cfg"
        cfg.write_text((CFG / "yolov4-csp.cfg").read_text().replace(
            "activation=logistic", "activation=linear", 1))
    elif case == "missing cfg":
        cfg = tmp_path / "missing.cfg"
    elif case == "missing weights":
        weights = tmp_path / "missing.weights"
    elif case == "unwritable output":
        (tmp_path / "blocker").write_text("a file, not a folder")
        output = tmp_path / "blocker" / "out.h5"
    elif case == "bad extension":
        output = tmp_path / "out.pb"
    elif case == "weights-only keras":
        output, flags = tmp_path / "out.keras", ["-w"]
    elif case == "class count":
        classes = tmp_path / "three.txt"
        classes.write_text("a\nb\nc\n")
        flags = ["--classes_path", classes]
    elif case == "not weights":
        weights = tmp_path / "t.weights"
        weights.write_bytes(b"junk")
    before = set(tmp_path.rglob("*")) if tmp_path.is_dir() else set()
    code, out, err = convert_in_process(capsys, *flags, cfg, weights, output)
    assert code == 1
    assert len(err.splitlines()) == 1, err
    assert err.startswith("convert.py: error: ")
    assert re.search(pattern, err), err
    assert set(tmp_path.rglob("*")) == before  # no partial or temporary file


def test_bad_input_through_the_real_process(tmp_path, tiny_weights):
    truncated = tmp_path / "t.weights"
    truncated.write_bytes(tiny_weights.read_bytes()[:1000])
    result = run_script("convert.py", str(CFG / "yolov3-tiny.cfg"), str(truncated),
                        str(tmp_path / "out.h5"))
    assert result.returncode == 1
    assert result.stderr.startswith("convert.py: error: ") and "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "out.h5").exists()


def test_a_cfg_option_not_built_through_the_real_process(tmp_path, tiny_weights):
    """A cfg from AlexeyAB's repository using an option the model would lack: one line
    naming the option and its line, no output."""
    cfg = tmp_path / "custom.cfg"
    text = (CFG / "yolov3-tiny.cfg").read_text()
    cfg.write_text(text.replace("[maxpool]\n", "[maxpool]\nmaxpool_depth=1\n", 1))
    line = cfg.read_text()[:cfg.read_text().index("maxpool_depth")].count("\n") + 1
    result = run_script("convert.py", str(cfg), str(tiny_weights), str(tmp_path / "out.h5"))
    assert_one_line_error(result, f"custom.cfg: line {line}: ",
                          "option maxpool_depth=1 is not supported", code=1)
    assert not (tmp_path / "out.h5").exists()


@pytest.mark.parametrize("argv, message", [
    (["a.cfg", "b.weights"], "expected 3 paths"),
    (["--to_darknet", "m.h5"], "expected 2 paths"),
    (["--to_darknet", "-w", "m.h5", "o.weights"], "apply to Darknet"),
    (["--cfg", "x.cfg", "a", "b", "c"], "--cfg applies to --to_darknet only"),
    (["--bogus", "a", "b", "c"], "unrecognized arguments: --bogus"),
])
def test_usage_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        convert.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and message in err


def test_export_needs_a_weights_name(tmp_path, capsys):
    code, _, err = convert_in_process(capsys, "--to_darknet", tmp_path / "m.h5", tmp_path / "o.bin")
    assert code == 1 and "must end in .weights" in err


def test_script_help_runs():
    result = run_script("convert.py", "--help", cwd=REPO)
    assert result.returncode == 0 and "--to_darknet" in result.stdout


@pytest.mark.parametrize("name, outputs", [
    ("yolov4-tiny", ["conv_29", "conv_36"]),
    ("yolov4-tiny-3l", ["conv_29", "conv_36", "conv_43"]),
    pytest.param("yolov4", ["conv_138", "conv_149", "conv_160"], marks=pytest.mark.slow),
    pytest.param("yolov4-csp", ["logistic_143", "logistic_158", "logistic_173"],
                 marks=pytest.mark.slow)])
def test_yolov4_family_converts_loads_detects_and_round_trips(tmp_path, random_weights,
                                                              name, outputs):
    """Route groups, mish and logistic heads are built from Keras' own layers: the
    converted file still loads with no custom objects, detects through the folded graph,
    and converts back byte for byte."""
    weights = random_weights(name)
    output = tmp_path / f"{name}.h5"
    result = run_script("convert.py", str(CFG / f"{name}.cfg"), str(weights), str(output))
    assert result.returncode == 0 and result.stderr == "", result.stderr
    config = load_cfg(CFG / f"{name}.cfg")
    assert f"Read {config.num_floats()} of {config.num_floats()} floats" in result.stdout
    model = keras.models.load_model(output, compile=False)  # no custom objects needed
    assert model.output_names == outputs
    import numpy as np

    from helpers import relative_error
    from yolo3.model.build import fold_batchnorm

    images = np.random.default_rng(1).random((1, 416, 416, 3), dtype=np.float32)
    folded = fold_batchnorm(model, config, (416, 416))  # what the detector runs
    for ours, theirs in zip(folded(images), model(images, training=False)):
        assert relative_error(ours, theirs) <= 1e-4
    from yolo import YOLO

    found = YOLO(model_path=str(output), score=0.2).detect((images[0] * 255).astype(np.uint8))
    assert all(d["class_name"] and len(d["box"]) == 4 for d in found)
    result = run_script("convert.py", "--to_darknet", str(output), str(tmp_path / "b.weights"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "b.weights").read_bytes() == weights.read_bytes()
    assert (tmp_path / "b.cfg").read_text() == (CFG / f"{name}.cfg").read_text()
