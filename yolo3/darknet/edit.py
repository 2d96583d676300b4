"""The same network for other classes, anchors or masks: the graph and its cfg text edited
alike (model files store the text)."""

from __future__ import annotations

import numpy as np

from yolo3.classfiles import format_anchors
from yolo3.darknet.cfg import build_graph
from yolo3.darknet.graph import DarknetConfig
from yolo3.darknet.sections import Section
from yolo3.errors import CfgError


def with_classes(config: DarknetConfig, num_classes: int,
                 anchors: np.ndarray | None = None,
                 masks: list[list[int]] | None = None,
                 scale_x_y: float | None = None,
                 letter_box: bool | None = None,
                 input_size: tuple[int, int] | None = None) -> DarknetConfig:
    """The same network for another class count (and optionally other anchors, masks,
    every head's decode ``scale_x_y``, how images meet the input, ``letter_box``, and the
    input size (height, width) [net] states, ``input_size``).

    The graph is rebuilt from the sections with ``classes`` (and ``anchors``/``num``,
    ``mask``) set in every [yolo] section and ``filters`` in the convolution before it;
    the text (what model files store) gets the same edits, every other line as it was.
    ``anchors`` is (N, 2), (width, height) in input pixels, with N equal to the cfg's
    anchor count; ``masks`` gives each head's anchor indices, as many as before.
    """
    if num_classes < 1:
        raise CfgError("the class count must be positive")
    if anchors is not None:
        anchors = np.asarray(anchors, dtype=np.float64).reshape(-1, 2)
        if len(anchors) != len(config.anchors):
            raise CfgError(f"{len(anchors)} anchors given; {config.source} uses "
                           f"{len(config.anchors)}")
    if masks is not None and [len(m) for m in masks] != [len(h.mask) for h in config.heads]:
        raise CfgError(f"masks {masks} do not fit the heads of {config.source}")
    net, sections = config.net, config.sections
    edits: dict[int, dict[str, str]] = {}  # section line → option edits
    net_edit = {}
    if letter_box is not None:
        net_edit["letter_box"] = str(int(letter_box))
    if input_size is not None:
        net_edit.update(height=str(int(input_size[0])), width=str(int(input_size[1])))
    if net_edit:
        if not net.line:
            raise CfgError(f"{config.source} has no [net] section to set "
                           f"{' and '.join(net_edit)} in")
        edits[net.line] = net_edit
    for number, head in enumerate(config.heads):
        edits[sections[head.conv_index].line] = {
            "filters": str(len(head.mask) * (num_classes + 5))}
        yolo_edit = {"classes": str(num_classes)}
        if anchors is not None:
            yolo_edit["anchors"] = format_anchors(anchors)
            yolo_edit["num"] = str(len(anchors))
        if scale_x_y is not None:
            yolo_edit["scale_x_y"] = f"{float(scale_x_y):g}"
        if masks is not None:
            yolo_edit["mask"] = ",".join(str(m) for m in masks[number])
        edits[sections[head.index].line] = yolo_edit
    text, moved = _edit_text(config.text, [net, *sections], edits)
    edited = [Section(s.kind, {**s.options, **edits.get(s.line, {})}, moved.get(s.line, s.line))
              for s in (net, *sections)]
    return build_graph(text, config.source, edited[0], edited[1:])


def _edit_text(text: str, sections: list[Section], edits: dict[int, dict[str, str]]
               ) -> tuple[str, dict[int, int]]:
    """``text`` with each section's options replaced by ``edits`` (keyed by section line),
    and where each section header moved to. Options the section relied on defaults for go
    right under its header."""
    starts = {s.line: s for s in sections if s.line}
    lines: list[str] = []
    moved: dict[int, int] = {}
    edit: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if number in starts:
            edit = edits.get(number, {})
            lines.append(raw)
            moved[number] = len(lines)
            lines += [f"{k}={v}" for k, v in edit.items() if k not in starts[number].options]
            continue
        content = raw.split("#", 1)[0]
        key = content.split("=", 1)[0].strip() if "=" in content else None
        lines.append(f"{key}={edit[key]}" if key in edit else raw)
    return "\n".join(lines) + "\n", moved
