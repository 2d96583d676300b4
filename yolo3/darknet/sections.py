"""Darknet .cfg text → its sections: the grammar (``[kind]`` headers, ``key=value``
lines, comments), the section names Darknet accepts, and the options each kind of
section may carry — those that build the network (:data:`OPTIONS`) and those that only
change how Darknet trains (:data:`TRAINING_OPTIONS`). Typed values and what each option
means are yolo3.darknet.cfg's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from yolo3.errors import CfgError

# Section names Darknet accepts, mapped to the one spelling used here.
_SECTION_ALIASES = {
    "net": "net",
    "network": "net",
    "convolutional": "convolutional",
    "conv": "convolutional",
    "shortcut": "shortcut",
    "route": "route",
    "upsample": "upsample",
    "maxpool": "maxpool",
    "max": "maxpool",
    "yolo": "yolo",
}
# The options each section's reader implements. A cfg option outside these that changes
# what the network computes is refused naming its line (a model built without it would
# be silently wrong); TRAINING_OPTIONS only change how Darknet trains (or tracks, or
# draws): they are read, and carried ([yolo] ones on the layer record, all in the text).
OPTIONS = {
    "net": {"width", "height", "channels", "letter_box"},
    "convolutional": {"filters", "size", "stride", "pad", "padding", "activation",
                      "batch_normalize", "groups", "dilation"},
    "shortcut": {"from", "activation", "weights_type"},
    "route": {"layers", "groups", "group_id"},
    "upsample": {"stride"},
    "maxpool": {"size", "stride", "padding"},
    "yolo": {"mask", "anchors", "classes", "num", "scale_x_y", "new_coords", "ignore_thresh",
             "iou_thresh"},
}
TRAINING_OPTIONS = {
    "net": {"batch", "subdivisions", "momentum", "decay", "angle", "saturation", "exposure",
            "hue", "learning_rate", "learning_rate_min", "burn_in", "max_batches", "policy",
            "steps", "scales", "step", "scale", "gamma", "power", "mosaic", "mosaic_bound",
            "cutmix", "mixup", "blur", "flip", "gaussian_noise", "jitter", "aspect",
            "max_crop", "min_crop", "max_ratio", "min_ratio", "center", "clip", "adam", "B1",
            "B2", "eps", "optimized_memory", "workspace_size_limit_MB", "max_chart_loss",
            "label_smooth_eps", "resize_step", "batches_per_cycle", "batches_cycle_mult",
            "track", "time_steps", "augment_speed", "sequential_subdivisions",
            "init_sequential_subdivisions", "seq_scales", "try_fix_nan", "ema_alpha",
            "loss_scale", "dynamic_minibatch", "equidistant_point", "contrastive",
            "contrastive_jit_flip", "contrastive_color", "unsupervised", "attention",
            "adversarial_lr", "weights_reject_freq", "badlabels_rejection_percentage",
            "num_sigmas_reject_badlabels", "show_receptive_field", "inputs"},
    "convolutional": {"stopbackward", "dontload", "dontloadscales", "learning_rate",
                      "train_only_bn"},
    "shortcut": {"stopbackward"},
    "route": {"stopbackward"},
    "upsample": set(),
    "maxpool": {"stopbackward"},
    "yolo": {"jitter", "truth_thresh", "random", "resize", "iou_normalizer",
             "cls_normalizer", "obj_normalizer", "iou_loss", "iou_thresh_kind", "nms_kind",
             "beta_nms", "max_delta", "objectness_smooth", "label_smooth_eps", "focal_loss",
             "max", "counters_per_class", "rescore", "track_history_size", "sim_thresh",
             "dets_for_track", "dets_for_show", "track_ciou_norm", "embedding_layer",
             "show_details", "stopbackward"},
}


@dataclass(frozen=True)
class Section:
    """One ``[kind]`` block of a cfg: its options as strings and where it starts."""

    kind: str
    options: dict[str, str]
    line: int
    option_lines: dict[str, int] = field(default_factory=dict, compare=False)

    def where(self, index: int | None = None) -> str:
        layer = f"layer {index} " if index is not None else ""
        return f"{layer}[{self.kind}] at line {self.line}"

    def get_int(self, key: str, default: int) -> int:
        return self._get(key, default, int, "an integer")

    def get_float(self, key: str, default: float) -> float:
        return self._get(key, default, float, "a number")

    def _get(self, key: str, default, convert, what: str):
        value = self.options.get(key)
        if value is None:
            return default
        try:
            return convert(value)
        except ValueError:
            raise CfgError(f"{self.where()}: {key}={value!r} is not {what}") from None

    def check_options(self, source: str, index: int | None = None) -> None:
        """CfgError naming the option and its line for one this project does not build."""
        for key, value in self.options.items():
            if key not in OPTIONS[self.kind] and key not in TRAINING_OPTIONS[self.kind]:
                raise CfgError(f"{source}: line {self.option_lines.get(key, self.line)}: "
                               f"{self.where(index)}: option {key}={value} is not supported "
                               "(it would change what the network computes)")

    def training_options(self) -> tuple[tuple[str, str], ...]:
        """The options that change only training, in cfg order."""
        return tuple((k, v) for k, v in self.options.items()
                     if k in TRAINING_OPTIONS[self.kind])

    def get_ints(self, key: str) -> list[int]:
        value = self.options.get(key)
        if value is None:
            raise CfgError(f"{self.where()}: missing {key}=")
        try:
            return [int(v) for v in value.split(",") if v.strip()]
        except ValueError:
            raise CfgError(f"{self.where()}: {key}={value!r} is not a list of integers") from None


def split_sections(text: str, source: str) -> list[Section]:
    sections: list[Section] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise CfgError(f"{source}: line {number}: malformed section header {line!r}")
            name = line[1:-1].strip().lower()
            kind = _SECTION_ALIASES.get(name)
            if kind is None:
                supported = ", ".join(sorted(set(_SECTION_ALIASES.values())))
                raise CfgError(f"{source}: line {number}: unsupported section [{name}] "
                               f"(supported: {supported})")
            sections.append(Section(kind, {}, number))
            continue
        if "=" not in line:
            raise CfgError(f"{source}: line {number}: expected key=value, got {line!r}")
        if not sections:
            raise CfgError(f"{source}: line {number}: option before the first section")
        key, value = (part.strip() for part in line.split("=", 1))
        sections[-1].options[key] = value
        sections[-1].option_lines[key] = number
    return sections
