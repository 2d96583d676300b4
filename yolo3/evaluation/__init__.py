"""Detection quality: VOC AP (``metrics``), COCO AP (``coco_ap``), and the report,
tables and curves (``report``) that evaluate.py and training write. TensorFlow-free."""

from yolo3.evaluation.report import (
    detect_annotations,
    evaluate,
    format_table,
    match_paths,
    read_detections_json,
    write_report,
)

__all__ = ["detect_annotations", "evaluate", "format_table", "match_paths",
           "read_detections_json", "write_report"]
