"""yolo3.training.outputs: the resume state is read whole or refused naming its file, and
a resumed run must train what the interrupted one trained."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from yolo3.errors import YoloError
from yolo3.training.outputs import check_same_run, resume_state, run_identity
from yolo3.training.settings import TrainSettings

GOOD = {"epoch": 3, "learning_rate": 0.001, "best": 0.5, "monitor": "val_loss"}


def checkpoint(tmp_path, state_text: str):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    (folder / "last.weights.h5").write_bytes(b"weights")
    (folder / "state.json").write_text(state_text)
    return folder


def test_a_good_state_and_one_from_before_runs_were_recorded(tmp_path):
    identity = {"model_size": "tiny", "classes": ["a"], "recipe": "modern",
                "input_size": 416, "cfg": "0" * 16}
    state = resume_state(checkpoint(tmp_path, json.dumps({**GOOD, "run": identity})))
    check_same_run(state, identity)
    check_same_run(GOOD, identity)  # no "run": taken as it is


@pytest.mark.parametrize("text, problem", [
    ('{"epoch": 3, "learni', "not a JSON object"),
    ("[]", "not a JSON object"),
    ("\xff\xfe", "not a JSON object"),
    (json.dumps({**GOOD, "epoch": 0}), "'epoch'"),
    (json.dumps({**GOOD, "epoch": True}), "'epoch'"),
    (json.dumps({**GOOD, "learning_rate": "fast"}), "'learning_rate'"),
    (json.dumps({**GOOD, "learning_rate": 10**400}), "'learning_rate'"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "monitor"}), "'monitor'"),
    (json.dumps({**GOOD, "best": "NaN"}), "'best'"),
    (json.dumps({**GOOD, "run": []}), "'run'"),
])
def test_a_damaged_state_names_its_file(tmp_path, text, problem):
    folder = checkpoint(tmp_path, text)
    with pytest.raises(YoloError) as refused:
        resume_state(folder)
    message = str(refused.value)
    assert str(folder / "state.json") in message and problem in message
    assert "--overwrite" in message


def test_no_checkpoint(tmp_path):
    with pytest.raises(YoloError, match="no checkpoint"):
        resume_state(tmp_path)


@pytest.mark.parametrize("now, phrase", [
    (dict(run_identity(TrainSettings(num_clusters=9, input_size=320), ["cat", "dog"],
                       SimpleNamespace(text="[net]\nwidth=320\n"))),
     "other --model_size (tiny then, full now)"),
    (dict(run_identity(TrainSettings(num_clusters=6, input_size=320, recipe="keras-yolo3"),
                       ["cat", "dog"], SimpleNamespace(text="[net]\nwidth=320\n"))),
     "other --recipe (modern then, keras-yolo3 now)"),
    (dict(run_identity(TrainSettings(num_clusters=6, input_size=320), ["cat"],
                       SimpleNamespace(text="[net]\nwidth=320\n"))),
     "other the classes (2 then, 1 now)"),
    (dict(run_identity(TrainSettings(num_clusters=6, input_size=320), ["cat", "cow"],
                       SimpleNamespace(text="[net]\nwidth=320\n"))),
     "other the classes (other names)"),
    (dict(run_identity(TrainSettings(num_clusters=6, input_size=320), ["cat", "dog"],
                       SimpleNamespace(text="[net]\nanchors=1,2\n"))),
     "other the network's anchors or layers;"),
])
def test_what_differs_is_said(now, phrase):
    state = {**GOOD, "run": run_identity(TrainSettings(num_clusters=6, input_size=320),
                                         ["cat", "dog"],
                                         SimpleNamespace(text="[net]\nwidth=320\n"))}
    with pytest.raises(YoloError) as refused:
        check_same_run(state, now)
    assert phrase in str(refused.value)
