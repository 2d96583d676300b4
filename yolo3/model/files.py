"""Keras model files that carry their own cfg, class names and Darknet header.

A model file written here needs no companion files: the cfg text (hence anchors, masks
and class count), the class names and the original Darknet header travel inside it as a
JSON document — an HDF5 root attribute ``yolo3`` in ``.h5`` files, an extra ``yolo3.json``
member in ``.keras`` archives. A trained model also records the images it was trained on,
as a 64-bit digest of each file's bytes (yolo3.files.file_digest), in a root dataset
``yolo3_trained_on`` (a ``yolo3_trained_on.npy`` member in archives), so evaluation can
say when it scores a model on its own training images. Keras ignores all of them, so
``keras.models.load_model`` opens a full model with no custom objects.

Formats by file name:
- ``*.keras``: full model (Keras 3 archive).
- ``*.weights.h5``: weights only, Keras 3 layout.
- other ``*.h5`` / ``*.hdf5``: full model in the legacy HDF5 layout, or, with
  ``weights_only``, weights in the Keras 2 layout that ``load_weights(by_name=True)`` and
  the original keras-yolo3 read.
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import h5py
import keras
import numpy as np

from yolo3.darknet import DarknetConfig, DarknetHeader, auto_name_counter, parse_cfg
from yolo3.errors import WeightsError, YoloError, first_line
from yolo3.files import atomic_output
from yolo3.model.build import build_model

METADATA_KEY = "yolo3"
METADATA_MEMBER = "yolo3.json"
TRAINED_ON_KEY = "yolo3_trained_on"
FORMAT_VERSION = 1


@dataclass
class ModelMetadata:
    """What a model file says about itself."""

    cfg_text: str
    class_names: list[str] | None = None
    darknet_header: DarknetHeader | None = None
    input_size: tuple[int, int] | None = None  # (height, width) it was trained at
    # digests of the training images' files (uint64, one per image), when trained here
    trained_on: tuple[int, ...] | None = None

    def config(self) -> DarknetConfig:
        return parse_cfg(self.cfg_text, "<cfg stored in the model>")

    def to_json(self) -> str:
        header = self.darknet_header
        return json.dumps({
            "format_version": FORMAT_VERSION,
            "cfg": self.cfg_text,
            "class_names": self.class_names,
            "darknet_header": None if header is None else [
                header.major, header.minor, header.revision, header.seen],
            "input_size": None if self.input_size is None else list(self.input_size),
        })

    @classmethod
    def from_json(cls, text: str) -> ModelMetadata:
        data = json.loads(text)
        header = data.get("darknet_header")
        size = data.get("input_size")
        return cls(cfg_text=data["cfg"], class_names=data.get("class_names"),
                   darknet_header=None if header is None else DarknetHeader(*header),
                   input_size=None if size is None else (int(size[0]), int(size[1])))


def _is_keras_archive(path: Path) -> bool:
    return path.name.endswith(".keras")


def _is_keras3_weights(path: Path) -> bool:
    return path.name.endswith(".weights.h5")


def check_model_path(path: str | Path, weights_only: bool) -> None:
    """Raise unless the file name says the format ``weights_only`` asks for."""
    path = Path(path)
    name = path.name
    if weights_only and _is_keras_archive(path):
        raise YoloError(f"{path}: a .keras file holds a full model; use .h5 or .weights.h5 "
                        "for weights only")
    if not weights_only and _is_keras3_weights(path):
        raise YoloError(f"{path}: a .weights.h5 file holds weights only; use .h5 or .keras "
                        "for a full model")
    if not (name.endswith((".h5", ".hdf5")) or _is_keras_archive(path)):
        raise YoloError(f"{path}: the model file name must end in .h5, .weights.h5 or .keras")


def save_model(model: keras.Model, path: str | Path, metadata: ModelMetadata,
               weights_only: bool = False) -> None:
    """Write ``model`` with ``metadata`` to ``path`` (format from the name, see module doc)."""
    path = Path(path)
    check_model_path(path, weights_only)
    with atomic_output(path) as tmp:
        tmp.unlink()  # Keras and h5py write the file themselves
        with _legacy_format_notice_hidden():
            if not weights_only:
                model.save(tmp)
            elif _is_keras3_weights(path):
                model.save_weights(tmp)
            else:
                _save_keras2_weights(model, tmp)
        _attach_metadata(tmp, metadata, archive=_is_keras_archive(path))


@contextmanager
def _legacy_format_notice_hidden():
    """Keras logs "HDF5 is a legacy format" on every .h5 save; here that format is chosen."""
    from absl import logging as absl_logging

    verbosity = absl_logging.get_verbosity()
    absl_logging.set_verbosity(absl_logging.ERROR)
    try:
        yield
    finally:
        absl_logging.set_verbosity(verbosity)


def _save_keras2_weights(model: keras.Model, path: Path) -> None:
    """Weights in the Keras 2 ``save_weights`` layout: one group per layer, in model order."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([layer.name.encode() for layer in model.layers])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = keras.__version__.encode()
        for layer in model.layers:
            group = f.create_group(layer.name)
            names = [f"{layer.name}/{weight.name}:0" for weight in layer.weights]
            group.attrs["weight_names"] = np.array([n.encode() for n in names])
            for name, weight in zip(names, layer.weights):
                group.create_dataset(name, data=keras.ops.convert_to_numpy(weight))


def _attach_metadata(path: Path, metadata: ModelMetadata, archive: bool) -> None:
    digests = metadata.trained_on
    if archive:
        with zipfile.ZipFile(path, "a") as zf:
            zf.writestr(METADATA_MEMBER, metadata.to_json())
            if digests is not None:
                buffer = io.BytesIO()
                np.save(buffer, np.asarray(digests, np.uint64))
                zf.writestr(f"{TRAINED_ON_KEY}.npy", buffer.getvalue())
    else:
        with h5py.File(path, "a") as f:
            f.attrs[METADATA_KEY] = metadata.to_json()
            if digests is not None:  # a dataset: attributes stop at 64 kB
                f.create_dataset(TRAINED_ON_KEY, data=np.asarray(digests, np.uint64))


def read_metadata(path: str | Path) -> ModelMetadata | None:
    """The metadata stored in a model file, or None for files written elsewhere."""
    path = Path(path)
    try:
        digests = None
        if _is_keras_archive(path):
            with zipfile.ZipFile(path) as zf:
                if METADATA_MEMBER not in zf.namelist():
                    return None
                text = zf.read(METADATA_MEMBER)
                if f"{TRAINED_ON_KEY}.npy" in zf.namelist():
                    digests = np.load(io.BytesIO(zf.read(f"{TRAINED_ON_KEY}.npy")))
        else:
            with h5py.File(path, "r") as f:
                text = f.attrs.get(METADATA_KEY)
                if isinstance(f.get(TRAINED_ON_KEY), h5py.Dataset):
                    digests = f[TRAINED_ON_KEY][()]
    except (OSError, zipfile.BadZipFile) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise WeightsError(f"{path}: not a Keras model file ({error})") from None
    if text is None:
        return None
    try:
        metadata = ModelMetadata.from_json(text.decode("utf-8") if isinstance(text, bytes)
                                           else text)
        if digests is not None:
            if digests.dtype != np.uint64 or digests.ndim != 1:
                raise ValueError("trained_on")
            metadata.trained_on = tuple(int(d) for d in digests)
        return metadata
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        raise WeightsError(f"{path}: its {METADATA_MEMBER} metadata is damaged") from None


def is_full_model(path: str | Path) -> bool:
    """True for files holding the architecture too (``.keras``, or ``.h5`` from model.save)."""
    path = Path(path)
    if _is_keras_archive(path):
        return True
    try:
        with h5py.File(path, "r") as f:
            return "model_config" in f.attrs
    except OSError as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise WeightsError(f"{path}: not a Keras model file ({error})") from None


def load_model(path: str | Path, config: DarknetConfig | None = None
               ) -> tuple[keras.Model, ModelMetadata | None]:
    """Open a model file written by this project (full model or weights only).

    Weights-only files are loaded into a model built from ``config``, or from the cfg in
    the file's metadata when ``config`` is None.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(2, "No such file", str(path))
    metadata = read_metadata(path)
    if is_full_model(path):
        try:
            model = keras.models.load_model(path, compile=False)
        except (ValueError, TypeError, OSError) as error:
            raise WeightsError(f"{path}: cannot load the model ({error})") from None
        return model, metadata
    if config is None:
        if metadata is None:
            raise WeightsError(f"{path} holds weights only and no cfg: give the cfg it was "
                               "trained with")
        config = metadata.config()
    model = build_model(config)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.load_weights(path)
            # Keras warns, rather than fails, when it loads only part of a file
            partial = [w for w in caught if "skipping" in str(w.message).lower()]
            if partial:
                raise ValueError(str(partial[0].message).split(".")[0])
        except (ValueError, KeyError, OSError) as error:
            raise WeightsError(f"{path}: the weights do not fit {config.source} "
                               f"({first_line(error)})") from None
    return model, metadata


def load_keras2_weights(model: keras.Model, config: DarknetConfig, path: str | Path) -> None:
    """Fill ``model`` from a Keras 2 HDF5 file of a keras-yolo3 model, matched by order.

    Works for ``model.save_weights`` files (such as keras-yolo3's
    ``trained_weights_final.h5``, whose training model also holds inputs and the loss
    layer) and for full-model ``.h5`` files. keras-yolo3 created its layers in Darknet
    order, so the n-th ``conv2d_*`` / ``batch_normalization_*`` layer (by the number Keras
    appended to its name) is the n-th convolution / batch norm of the cfg.
    """
    path = Path(path)
    convs: list[tuple[int, list[np.ndarray]]] = []
    norms: list[tuple[int, list[np.ndarray]]] = []
    try:
        with h5py.File(path, "r") as f:
            full_model = "layer_names" not in f.attrs and "model_weights" in f
            root = f["model_weights"] if full_model else f
            for raw_name in root.attrs.get("layer_names", []):
                name = raw_name.decode() if isinstance(raw_name, bytes) else raw_name
                group = root[name]
                weight_names = [n.decode() if isinstance(n, bytes) else n
                                for n in group.attrs.get("weight_names", [])]
                values = [np.asarray(group[n]) for n in weight_names]
                if any(n.endswith(("kernel:0", "kernel")) for n in weight_names):
                    convs.append((auto_name_counter(name), values))
                elif any(n.endswith(("gamma:0", "gamma")) for n in weight_names):
                    norms.append((auto_name_counter(name), values))
    except (OSError, KeyError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise WeightsError(f"{path}: not a Keras HDF5 weights file ({error})") from None
    wanted_norms = [c for c in config.convs if c.batch_normalize]
    if len(convs) != len(config.convs) or len(norms) != len(wanted_norms):
        raise WeightsError(f"{path} holds {len(convs)} convolutions and {len(norms)} batch "
                           f"norms; {config.source} has {len(config.convs)} and "
                           f"{len(wanted_norms)}")
    pairs = [(c.name, v) for c, (_, v) in zip(config.convs, sorted(convs))]
    pairs += [(c.bn_name, v) for c, (_, v) in zip(wanted_norms, sorted(norms))]
    for layer_name, values in pairs:
        layer = model.get_layer(layer_name)
        expected = [tuple(w.shape) for w in layer.weights]
        if [v.shape for v in values] != expected:
            raise WeightsError(f"{path}: weights for {layer_name} have shapes "
                               f"{[v.shape for v in values]}, the model needs {expected} "
                               "(do the anchors and classes match the model?)")
        layer.set_weights(values)
