"""Bad input, class 3: training checks its data and its output folder before building
anything, and never damages an earlier run."""

from __future__ import annotations

import pytest

from helpers import SAMPLE, assert_one_line_error, partial_files, run_script, tree_bytes


def train(tmp_path, *args):
    return run_script("project/train_azureml.py", "--input_size", "64", "--epochs", "1",
                      "--batch_size", "2", "--num_clusters", "6", "--no_evaluation", *args,
                      cwd=tmp_path)


@pytest.fixture
def earlier_run(tmp_path):
    """A folder holding a good earlier run's outputs."""
    out = tmp_path / "outputs"
    (out / "checkpoints").mkdir(parents=True)
    (out / "trained_model.h5").write_bytes(b"an earlier model")
    (out / "training_log.csv").write_text("epoch,loss\n0,12.5\n1,8.25\n")
    (out / "checkpoints" / "state.json").write_text('{"epoch": 2}\n')
    return out


def listed(tmp_path, line):
    annot = tmp_path / "list.txt"
    annot.write_text(line + "\n")
    classes = tmp_path / "classes.txt"
    classes.write_text("cat\ndog\n")
    return ["--annotation_file", str(annot), "--class_path", str(classes)]


def test_class_id_beyond_the_classes_stops_before_building(tmp_path, earlier_run):
    args = listed(tmp_path, f"{SAMPLE} 10,10,100,120,5")
    before = tree_bytes(tmp_path)
    result = train(tmp_path, *args, "--overwrite", "--output_dir", str(earlier_run))
    assert_one_line_error(result, "class id 5 is beyond the 2 classes")
    assert tree_bytes(tmp_path) == before and not partial_files(tmp_path)


@pytest.mark.parametrize("box, message", [
    ("100,10,10,120,0", "has no area"),
    ("5000,10,5100,120,0", "boxes wholly outside the image"),
])
def test_boxes_that_cannot_be_right_stop_the_run(tmp_path, box, message):
    result = train(tmp_path, *listed(tmp_path, f"{SAMPLE} {box}"), "--output_dir",
                   str(tmp_path / "out"))
    assert_one_line_error(result, message)
    assert not (tmp_path / "out").exists()


def test_a_folder_with_an_earlier_run_is_refused(tmp_path, earlier_run, shapes_export):
    before = tree_bytes(earlier_run)
    result = train(tmp_path, "--data_path", str(shapes_export), "--output_dir",
                   str(earlier_run))
    assert_one_line_error(result, "holds another run's outputs", "--resume", "--overwrite")
    assert tree_bytes(earlier_run) == before


def test_resume_and_overwrite_together_are_refused(tmp_path, earlier_run):
    result = train(tmp_path, "--resume", "--overwrite", "--output_dir", str(earlier_run))
    assert_one_line_error(result, "not both", code=2)


def test_an_unwritable_output_folder_is_refused_up_front(tmp_path, shapes_export):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = train(tmp_path, "--data_path", str(shapes_export), "--output_dir",
                   str(blocker / "outputs"))
    assert_one_line_error(result, "cannot write", "is a file, not a folder")


def test_overwrite_replaces_an_earlier_run(tmp_path, earlier_run, shapes_export):
    result = train(tmp_path, "--data_path", str(shapes_export), "--output_dir",
                   str(earlier_run), "--overwrite")
    assert result.returncode == 0, result.stderr
    assert (earlier_run / "trained_model.h5").read_bytes() != b"an earlier model"
    assert (earlier_run / "training_log.csv").read_text().startswith("epoch,")


@pytest.mark.parametrize("case, message", [
    ("without an annotation file", "--val_list goes with --annotation_file"),
    ("missing", "--val_list"),
    ("empty", "no images listed"),
    ("the annotation file itself", "--val_list is the --annotation_file itself"),
])
def test_bad_validation_lists(tmp_path, case, message):
    args = listed(tmp_path, f"{SAMPLE} 10,10,100,120,0")
    val = tmp_path / "val.txt"
    if case == "empty":
        val.write_text("\n")
    if case == "without an annotation file":
        val.write_text(f"{SAMPLE} 10,10,100,120,0\n")
        args = ["--data_path", str(tmp_path)]
    if case == "the annotation file itself":
        val = tmp_path / "list.txt"
    result = train(tmp_path, *args, "--val_list", str(val), "--output_dir",
                   str(tmp_path / "out"))
    assert_one_line_error(result, message, *(["val.txt: no such file"] if case == "missing"
                                              else []))
    assert not (tmp_path / "out").exists()


def test_missing_pretrained_weights_are_named_before_any_work(tmp_path, shapes_export):
    result = train(tmp_path, "--data_path", str(shapes_export), "--weights",
                   str(tmp_path / "missing.h5"), "--output_dir", str(tmp_path / "out"))
    assert_one_line_error(result, "--weights", "missing.h5: no such file")
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, shapes_export):
    """A real one-epoch run (tiny, modern recipe, 64 px) to resume from."""
    where = tmp_path_factory.mktemp("finished")
    result = train(where, "--data_path", str(shapes_export), "--output_dir",
                   str(where / "outputs"), "--epochs", "1", "--frozen_epochs", "0")
    assert result.returncode == 0, result.stderr
    return where / "outputs"


def resumable_copy(tmp_path, finished_run):
    import shutil

    out = tmp_path / "outputs"
    shutil.copytree(finished_run, out)
    return out


@pytest.mark.parametrize("flags, phrase", [
    (["--recipe", "keras-yolo3"], "other --recipe (modern then, keras-yolo3 now)"),
    (["--num_clusters", "9"], "other --model_size (tiny then, full now)"),
    (["--model_size", "v4-tiny"], "other --model_size (tiny then, v4-tiny now)"),
    (["--input_size", "96"], "other --input_size (64 then, 96 now)"),
    (["--classes_path", "MORE_CLASSES"], "other the classes ("),
])
def test_resume_into_a_run_that_trained_something_else(tmp_path, finished_run,
                                                      shapes_export, flags, phrase):
    out = resumable_copy(tmp_path, finished_run)
    more = tmp_path / "more_classes.txt"
    names = (finished_run / "classes.txt").read_text().split()
    more.write_text("\n".join([*names, "extra"]) + "\n")
    before = tree_bytes(out)
    result = train(tmp_path, "--data_path", str(shapes_export), "--output_dir", str(out),
                   "--resume", "--epochs", "2", "--frozen_epochs", "0",
                   *[str(more) if f == "MORE_CLASSES" else f for f in flags])
    assert_one_line_error(result, "--resume", phrase, "--overwrite")
    assert tree_bytes(out) == before


@pytest.mark.parametrize("damage, phrase", [
    ("state-truncated", "state.json is damaged (not a JSON object)"),
    ("state-list", "state.json is damaged (not a JSON object)"),
    ("state-epoch", "state.json is damaged (its 'epoch' is missing or wrong)"),
    ("weights-truncated", "last.weights.h5: not a checkpoint of this network"),
])
def test_resume_from_damaged_state_names_the_file(tmp_path, finished_run, shapes_export,
                                                  damage, phrase):
    import json

    out = resumable_copy(tmp_path, finished_run)
    state = out / "checkpoints" / "state.json"
    if damage == "state-truncated":
        state.write_text(state.read_text()[:20])
    elif damage == "state-list":
        state.write_text("[1, 2]\n")
    elif damage == "state-epoch":
        state.write_text(json.dumps({**json.loads(state.read_text()), "epoch": "one"}))
    else:
        weights = out / "checkpoints" / "last.weights.h5"
        weights.write_bytes(weights.read_bytes()[:5000])
    before = tree_bytes(out)
    result = train(tmp_path, "--data_path", str(shapes_export), "--output_dir", str(out),
                   "--resume", "--epochs", "2", "--frozen_epochs", "0")
    message = assert_one_line_error(result, phrase)
    assert str(out) in message
    assert tree_bytes(out) == before


def test_resume_of_a_run_already_done_says_so(tmp_path, finished_run, shapes_export):
    out = resumable_copy(tmp_path, finished_run)
    before = tree_bytes(out)
    result = train(tmp_path, "--data_path", str(shapes_export), "--output_dir", str(out),
                   "--resume", "--epochs", "1", "--frozen_epochs", "0")
    assert_one_line_error(result, "has already trained 1 epoch;", "--epochs above 1")
    assert tree_bytes(out) == before


def test_resume_past_a_junk_row_in_results(tmp_path, finished_run, shapes_export):
    """A results.csv row someone damaged is left out; the run resumes and follows on."""
    out = resumable_copy(tmp_path, finished_run)
    results = out / "results.csv"
    results.write_text(results.read_text() + "junk,row,?\n\x00\n")
    result = train(tmp_path, "--data_path", str(shapes_export), "--output_dir", str(out),
                   "--resume", "--epochs", "2", "--frozen_epochs", "0")
    assert result.returncode == 0, result.stderr
    epochs = [line.split(",")[0] for line in results.read_text().splitlines()[1:]]
    assert epochs == ["1", "2"]
