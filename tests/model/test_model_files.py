"""yolo3.model.files: every model file format round-trips with its metadata."""

from __future__ import annotations

import h5py
import keras
import numpy as np
import pytest

from helpers import CFG, random_conv_weights
from yolo3.darknet import DarknetHeader, load_cfg, with_classes
from yolo3.errors import WeightsError, YoloError
from yolo3.model.build import build_model, set_darknet_weights
from yolo3.model.files import ModelMetadata, is_full_model, load_model, read_metadata, save_model

IMAGES = np.random.default_rng(0).random((1, 128, 96, 3), dtype=np.float32)


@pytest.fixture(scope="module")
def tiny():
    config = load_cfg(CFG / "yolov3-tiny.cfg")
    model = build_model(config)
    set_darknet_weights(model, config, random_conv_weights(config, seed=2))
    metadata = ModelMetadata(config.text, [f"c{i}" for i in range(80)],
                             DarknetHeader(0, 2, 0, 99))
    return config, model, metadata


def outputs(model):
    return [np.asarray(o) for o in model(IMAGES, training=False)]


@pytest.mark.parametrize("name, weights_only, full", [
    ("m.h5", False, True), ("m.keras", False, True),
    ("m.weights.h5", True, False), ("m.h5", True, False),
])
def test_formats_round_trip_with_metadata(tmp_path, tiny, name, weights_only, full):
    config, model, metadata = tiny
    path = tmp_path / name
    save_model(model, path, metadata, weights_only=weights_only)
    assert is_full_model(path) == full
    assert read_metadata(path) == metadata
    loaded, loaded_metadata = load_model(path)
    assert loaded_metadata == metadata
    for ours, theirs in zip(outputs(loaded), outputs(model)):
        np.testing.assert_array_equal(ours, theirs)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporary left


@pytest.mark.parametrize("name", ["m.h5", "m.keras"])
def test_full_models_open_in_plain_keras(tmp_path, tiny, name):
    _, model, metadata = tiny
    save_model(model, tmp_path / name, metadata)
    plain = keras.models.load_model(tmp_path / name, compile=False)
    np.testing.assert_array_equal(outputs(plain)[1], outputs(model)[1])


def test_weights_only_h5_uses_the_keras2_layout(tmp_path, tiny):
    config, model, metadata = tiny
    path = tmp_path / "yolo_weights.h5"
    save_model(model, path, metadata, weights_only=True)
    with h5py.File(path) as f:
        layer_names = [n.decode() for n in f.attrs["layer_names"]]
        assert layer_names == [layer.name for layer in model.layers]
        assert [n.decode() for n in f["bn_0"].attrs["weight_names"]] == [
            "bn_0/gamma:0", "bn_0/beta:0", "bn_0/moving_mean:0", "bn_0/moving_variance:0"]
        assert f["conv_0"]["conv_0"]["kernel:0"].shape == (3, 3, 3, 16)
    # a custom-class model takes every layer by name except the resized heads
    custom = build_model(with_classes(config, 2))
    with pytest.warns(UserWarning, match="Skipping loading weights") as record:
        custom.load_weights(path, by_name=True, skip_mismatch=True)
    skipped = {w.message.args[0].split("named ")[1].split(")")[0] for w in record}
    assert skipped == {"conv_15", "conv_22"}
    np.testing.assert_array_equal(custom.get_layer("conv_13").get_weights()[0],
                                  model.get_layer("conv_13").get_weights()[0])
    assert custom.get_layer("conv_15").get_weights()[0].shape[-1] == 21


def test_weights_without_cfg_need_one(tmp_path, tiny):
    config, model, _ = tiny
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    with pytest.raises(WeightsError, match="weights only and no cfg"):
        load_model(path)
    loaded, metadata = load_model(path, config=config)
    assert metadata is None
    np.testing.assert_array_equal(outputs(loaded)[0], outputs(model)[0])


def test_weights_that_do_not_fit_the_cfg(tmp_path, tiny):
    _, model, metadata = tiny
    path = tmp_path / "w.weights.h5"
    save_model(model, path, metadata, weights_only=True)
    with pytest.raises(WeightsError, match="do not fit"):
        load_model(path, config=load_cfg(CFG / "yolov3.cfg"))


@pytest.mark.parametrize("name, weights_only, message", [
    ("m.keras", True, "holds a full model"),
    ("m.weights.h5", False, "holds weights only"),
    ("m.pb", False, "must end in .h5"),
])
def test_file_names_must_say_the_format(tmp_path, tiny, name, weights_only, message):
    _, model, metadata = tiny
    with pytest.raises(YoloError, match=message):
        save_model(model, tmp_path / name, metadata, weights_only=weights_only)
    assert list(tmp_path.iterdir()) == []


def test_not_a_model_file(tmp_path):
    path = tmp_path / "junk.h5"
    path.write_text("not hdf5")
    with pytest.raises(WeightsError, match="not a Keras model file"):
        read_metadata(path)
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.h5")


def test_files_from_elsewhere_have_no_metadata(tmp_path, tiny):
    _, model, _ = tiny
    model.save(tmp_path / "plain.keras")
    assert read_metadata(tmp_path / "plain.keras") is None


def test_the_training_size_round_trips_and_damaged_metadata_is_one_line(tmp_path, tiny):
    from dataclasses import replace

    from yolo3.model.files import METADATA_KEY

    _, model, metadata = tiny
    sized = replace(metadata, input_size=(160, 224))
    save_model(model, tmp_path / "m.h5", sized, weights_only=True)
    assert read_metadata(tmp_path / "m.h5").input_size == (160, 224)
    with h5py.File(tmp_path / "m.h5", "a") as f:
        f.attrs[METADATA_KEY] = sized.to_json().replace("[160, 224]", '"big"')
    with pytest.raises(WeightsError, match="metadata is damaged"):
        read_metadata(tmp_path / "m.h5")


@pytest.mark.parametrize("name", ["m.h5", "m.keras"])
def test_the_training_images_digests_round_trip_past_the_attribute_limit(tmp_path, tiny, name):
    """20,000 digests (160 kB: more than an HDF5 attribute holds) survive a save and load,
    and plain Keras still opens the file."""
    from dataclasses import replace

    _, model, metadata = tiny
    digests = tuple(int(d) for d in np.random.default_rng(1).integers(
        0, 2**63, 20000, dtype=np.uint64)) + (2**64 - 1,)
    save_model(model, tmp_path / name, replace(metadata, trained_on=digests))
    assert read_metadata(tmp_path / name).trained_on == digests
    keras.models.load_model(tmp_path / name, compile=False)
    save_model(model, tmp_path / f"plain.{name}", metadata)
    assert read_metadata(tmp_path / f"plain.{name}").trained_on is None
