"""yolo3.darknet.sections: cfg text → sections (headers, aliases, comments, option lines),
and the option vocabulary each section kind is held to."""

from __future__ import annotations

import pytest

from yolo3.darknet.sections import OPTIONS, TRAINING_OPTIONS, Section, split_sections
from yolo3.errors import CfgError

TEXT = """# a comment
[net]
width=416  # trailing comment
; Darknet's other comment
batch=64

[conv]
filters=16
size=3
activation=leaky

[Region]
"""


def test_sections_with_their_options_and_lines():
    sections = split_sections(TEXT.replace("[Region]\n", "[yolo]\nmask=0\n"), "t.cfg")
    assert [(s.kind, s.line) for s in sections] == [("net", 2), ("convolutional", 7),
                                                    ("yolo", 12)]
    assert sections[0].options == {"width": "416", "batch": "64"}
    assert sections[1].option_lines == {"filters": 8, "size": 9, "activation": 10}
    assert sections[0].training_options() == (("batch", "64"),)
    assert sections[1].get_int("filters", 0) == 16 and sections[1].get_float("pad", 1.5) == 1.5


@pytest.mark.parametrize("text, message", [
    (TEXT, r"t.cfg: line 12: unsupported section \[region\]"),
    ("[net\n", r"line 1: malformed section header"),
    ("width=1\n[net]\n", r"line 1: option before the first section"),
    ("[net]\nwidth\n", r"line 2: expected key=value"),
])
def test_malformed_text_is_refused_naming_its_line(text, message):
    with pytest.raises(CfgError, match=message):
        split_sections(text, "t.cfg")


def test_options_outside_the_vocabulary_are_refused_naming_their_line():
    conv = split_sections("[convolutional]\nfilters=8\nxnor=1\n", "t.cfg")[0]
    with pytest.raises(CfgError, match=r"t.cfg: line 3: layer 4 \[convolutional\] at line 1: "
                                       r"option xnor=1 is not supported"):
        conv.check_options("t.cfg", 4)
    with pytest.raises(CfgError, match="filters='x' is not an integer"):
        Section("convolutional", {"filters": "x"}, 1).get_int("filters", 0)
    assert set(OPTIONS) == set(TRAINING_OPTIONS)
    assert not any(OPTIONS[kind] & TRAINING_OPTIONS[kind] for kind in OPTIONS)
