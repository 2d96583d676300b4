"""yolo3.data.conversion: clipping and half-up rounding, and the report of problems."""

from __future__ import annotations

from yolo3.data.conversion import Report, convert_box


def test_boxes_are_clipped_rounded_and_dropped_without_area():
    report = Report()
    assert convert_box((10.4, 10.5, 50.5, 60.49), (100, 80), report, "a") == [10, 11, 51, 60]
    assert convert_box((-5, -3, 120, 90), (100, 80), report, "b") == [0, 0, 100, 80]
    assert convert_box((10, 10, 10.4, 40), (100, 80), report, "c") is None
    assert report.counts == {"boxes clipped to the image": 1, "zero-area boxes dropped": 1}


def test_report_lines_name_a_few_examples():
    report = Report()
    for name in ("a.xml", "b.xml", "c.xml", "d.xml"):
        report.add("malformed XML files skipped", name)
    report.add("images not found", count=2)
    assert report.lines() == ["2 images not found",
                              "4 malformed XML files skipped (a.xml, b.xml, c.xml …)"]
