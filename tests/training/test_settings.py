"""yolo3.training.settings: each training setting is declared once, and the training
script's parser, the Azure job's arguments and the driver's SETTINGS and flags all come
from that declaration and agree."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import azureml_driver
from helpers import REPO
from yolo3.azure.job import driver_flags, driver_settings, job_settings_from
from yolo3.training.settings import ALWAYS, TrainSettings, declared, forwarded


def train_script():
    spec = importlib.util.spec_from_file_location("train_azureml",
                                                  REPO / "project" / "train_azureml.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def changed_value(f):
    """A valid value other than the default, for every forwarded setting."""
    if f.metadata["choices"]:
        return next(c for c in f.metadata["choices"] if c != f.default)
    return {"data_dir": "Other-export", "class_path": "my_classes.txt",
            "anchors_path": "my_anchors.txt", "weights": "yolo-tiny.h5", "input_size": 320,
            "batch_size": 4, "learning_rate": 0.002, "epochs": 12, "frozen_epochs": 3,
            "val_split": 0.1, "seed": 7, "gpu_num": 2, "map_every": 5, "workers": 4}[f.name]


def test_the_job_passes_every_forwarded_setting_the_script_reads_back():
    values = {f.name: changed_value(f) for f in forwarded()}
    job = job_settings_from({**driver_settings(), **values})
    assert not job.problems()
    parsed = train_script().parse_args([str(a) for a in job.arguments("DATA")])
    for f in forwarded():
        got = getattr(parsed, f.name)
        assert (str(got) if isinstance(got, Path) else got) == values[f.name], f.name
    assert parsed.data_path == Path("DATA") and parsed.output_dir == Path("outputs")


def test_defaults_travel_only_when_always_forwarded():
    job = job_settings_from(driver_settings())
    assert set(job.script_inputs()) == {f.name for f in forwarded()
                                        if f.metadata["forward"] == ALWAYS}


def test_the_script_parser_has_every_declared_setting_with_its_default():
    parsed = train_script().parse_args([])
    for f in declared():
        assert getattr(parsed, f.name) == f.default, f.name
    assert set(vars(parsed)) == {f.name for f in declared()} | {"max_pixels"}


def test_the_driver_offers_every_setting_as_a_key_and_a_flag():
    assert set(azureml_driver.SETTINGS) == set(driver_settings())
    names = [name for _, name, _, _ in driver_flags()]
    assert sorted(names) == sorted(driver_settings())
    for f in forwarded():
        flags = next(flags for flags, name, _, _ in driver_flags() if name == f.name)
        args = azureml_driver.parse_args([flags[-1], str(changed_value(f))])
        assert azureml_driver.job_settings(args).training[f.name] == changed_value(f), f.name


@pytest.mark.parametrize("values, message", [
    ({"epochs": 0}, "--epochs must be at least 1"),
    ({"model_size": "huge"}, "--model_size must be full, tiny, v4 or v4-tiny"),
    ({"learning_rate": float("nan")}, "--learning_rate must be a finite number above 0"),
])
def test_library_calls_are_checked_like_the_command_line(values, message, tmp_path):
    from yolo3.errors import YoloError
    from yolo3.training import train

    with pytest.raises(YoloError, match=message):
        train(TrainSettings(output_dir=tmp_path / "o", **values))
