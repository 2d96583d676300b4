"""Build a Keras model from a parsed Darknet cfg and move weights between the two.

The model takes RGB images as float32 in [0, 1], shape (batch, height, width, channels),
with height and width multiples of the network stride (32 for YOLOv3). Its outputs are the
raw head convolutions, one per [yolo] layer in cfg order (coarse to fine for YOLOv3), each
(batch, grid_h, grid_w, anchors_per_head * (5 + classes)) laid out anchor-major:
[x, y, w, h, objectness, class scores...] per anchor. A cfg without [yolo] layers (a
backbone) outputs its last layer.

Layer names are the graph's (yolo3.darknet.graph: ``conv_12``, ``bn_12``, ``leaky_12``,
``shortcut_14``, ...), the same for every build and Keras version.
"""

from __future__ import annotations

import keras
import numpy as np

from yolo3.darknet import (
    INPUT,
    Conv,
    ConvWeights,
    DarknetConfig,
    MaxPool,
    Route,
    Shortcut,
    Upsample,
)

# Darknet normalises with sqrt(variance + 1e-6) (OpenCV's importer follows it); Keras'
# default 1e-3 shifts converted outputs by about 0.7 %.
BATCHNORM_EPSILON = 1e-6
LEAKY_SLOPE = 0.1
# Darknet's other activations as Keras' built-in ones (mish: x·tanh(softplus(x)), YOLOv4's)
KERAS_ACTIVATIONS = {"mish": "mish", "swish": "silu", "logistic": "sigmoid", "relu": "relu"}


def build_model(config: DarknetConfig, input_shape: tuple[int | None, int | None] = (None, None),
                name: str = "yolov3", folded: bool = False) -> keras.Model:
    """The Keras functional model for ``config`` with fresh weights.

    ``input_shape`` is (height, width); None keeps the model fully convolutional.
    ``folded`` builds the inference form: BatchNormalization merged into the convolutions
    (every conv has a bias, no ``bn_*`` layers); fill it with :func:`fold_batchnorm`.
    """
    inputs = keras.Input(shape=(*input_shape, config.input_channels), name="input")
    outputs: list = []  # output tensor of each Darknet layer
    for layer in config.layers:
        x = [inputs if i == INPUT else outputs[i] for i in layer.inputs]
        if isinstance(layer, Conv):
            y = _conv_block(x[0], layer, folded)
        elif isinstance(layer, Shortcut):
            y = _activation(keras.layers.Add(name=layer.add_name)(x), layer.activation,
                            layer.name)
        elif isinstance(layer, Route):
            if layer.groups > 1:
                x = [_channel_group(t, layer.groups, layer.group_id,
                                    layer.name if len(x) == 1 else f"{layer.name}_{k}")
                     for k, t in enumerate(x)]
            y = x[0] if len(x) == 1 else keras.layers.Concatenate(name=layer.name)(x)
        elif isinstance(layer, Upsample):
            y = keras.layers.UpSampling2D(layer.factor, interpolation="nearest",
                                          name=layer.name)(x[0])
        elif isinstance(layer, MaxPool):
            # the cfg reader admits only pools Darknet pads as Keras' "same" does
            y = keras.layers.MaxPooling2D(layer.size, layer.pool_stride, padding="same",
                                          name=layer.name)(x[0])
        else:  # [yolo]: decoded in post-processing; its slot keeps the raw head output
            y = x[0]
        outputs.append(y)
    heads = [outputs[head.conv_index] for head in config.heads] or [outputs[-1]]
    return keras.Model(inputs, heads, name=name)


def _channel_group(x, groups: int, group_id: int, name: str):
    """Channel group ``group_id`` of ``groups`` equal groups (Darknet's [route] groups=),
    from built-in layers only, so keras.models.load_model still needs no custom objects:
    channels moved to axis 1, cropped there, moved back."""
    channels = x.shape[-1]
    size = channels // groups
    x = keras.layers.Permute((3, 1, 2), name=f"{name}_to_channels")(x)
    x = keras.layers.Cropping2D(((group_id * size, channels - (group_id + 1) * size), (0, 0)),
                                name=f"{name}_crop")(x)
    return keras.layers.Permute((2, 3, 1), name=name)(x)


def _conv_block(x, conv: Conv, folded: bool):
    batch_normalize = conv.batch_normalize and not folded
    same = conv.conv_stride == 1 and 2 * conv.padding == conv.size - 1
    if conv.padding and not same:
        x = keras.layers.ZeroPadding2D(conv.padding, name=conv.pad_name)(x)
    x = keras.layers.Conv2D(conv.filters, conv.size, strides=conv.conv_stride,
                            padding="same" if same else "valid",
                            use_bias=not batch_normalize, name=conv.name)(x)
    if batch_normalize:
        x = keras.layers.BatchNormalization(epsilon=BATCHNORM_EPSILON, name=conv.bn_name)(x)
    return _activation(x, conv.activation, conv.activation_name)


def _activation(x, activation: str, name: str):
    """Darknet's ``activation`` as a built-in Keras layer named ``name`` (none for linear)."""
    if activation == "leaky":
        return keras.layers.LeakyReLU(negative_slope=LEAKY_SLOPE, name=name)(x)
    if activation in KERAS_ACTIVATIONS:
        return keras.layers.Activation(KERAS_ACTIVATIONS[activation], name=name)(x)
    return x


def set_darknet_weights(model: keras.Model, config: DarknetConfig,
                        convs: dict[int, ConvWeights]) -> None:
    """Load Darknet-order arrays into the model; layers missing from ``convs`` keep theirs."""
    for conv in config.convs:
        values = convs.get(conv.index)
        if values is None:
            continue
        # Darknet kernels are (out, in, h, w); Keras wants (h, w, in, out)
        kernel = np.transpose(values.kernel, (2, 3, 1, 0))
        layer = model.get_layer(conv.name)
        if conv.batch_normalize:
            layer.set_weights([kernel])
            model.get_layer(conv.bn_name).set_weights(
                [values.scales, values.biases, values.mean, values.variance])
        else:
            layer.set_weights([kernel, values.biases])


def get_darknet_weights(model: keras.Model, config: DarknetConfig) -> dict[int, ConvWeights]:
    """The model's convolution weights as Darknet-order arrays (float32)."""
    convs: dict[int, ConvWeights] = {}
    for conv in config.convs:
        weights = model.get_layer(conv.name).get_weights()
        kernel = np.transpose(weights[0], (3, 2, 0, 1)).astype(np.float32)
        if conv.batch_normalize:
            gamma, beta, mean, variance = model.get_layer(conv.bn_name).get_weights()
            convs[conv.index] = ConvWeights(beta, kernel, gamma, mean, variance)
        else:
            convs[conv.index] = ConvWeights(weights[1], kernel)
    return convs


def fold_batchnorm(model: keras.Model, config: DarknetConfig,
                   input_shape: tuple[int | None, int | None] | None = None,
                   input_scale: float = 1.0) -> keras.Model:
    """An inference copy of ``model`` with each BatchNormalization folded into its conv.

    y = gamma * (conv(x) - mean) / sqrt(var + eps) + beta becomes conv'(x) + b' with
    kernel' = kernel * gamma / sqrt(var + eps) and b' = beta - mean * gamma / sqrt(var + eps),
    which lets TensorFlow fuse convolution, bias and LeakyReLU into one kernel.
    ``input_shape`` (height, width) fixes the input size (default: the model's own).
    ``input_scale`` folds a constant factor on the input into the first convolution (which
    reads the input, zero-padded: conv(s · x) = conv'(x) with kernel' = s · kernel), e.g.
    1/255 for a copy that takes pixel values 0..255 without a division over the image.
    """
    shape = input_shape or tuple(model.input_shape[1:3])
    folded = build_model(config, shape, name=model.name, folded=True)
    if input_scale != 1.0 and config.layers[0] is not config.convs[0]:
        raise ValueError("input_scale needs a first layer that is a convolution")
    for conv in config.convs:
        kernel, *rest = model.get_layer(conv.name).get_weights()
        if conv is config.convs[0]:
            kernel = kernel.astype(np.float64) * input_scale
        target = folded.get_layer(conv.name)
        if not conv.batch_normalize:
            target.set_weights([kernel.astype(np.float32), *rest])
            continue
        bn = model.get_layer(conv.bn_name)
        gamma, beta, mean, variance = (w.astype(np.float64) for w in bn.get_weights())
        factor = gamma / np.sqrt(variance + bn.epsilon)
        target.set_weights([(kernel * factor).astype(np.float32),
                            (beta - mean * factor).astype(np.float32)])
    return folded
