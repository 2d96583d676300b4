"""What every annotation converter (VOC, VoTT, LabelImg, COCO) shares: boxes clipped to
the image and rounded half up, and the report of problems met instead of stopping."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field


@dataclass
class Report:
    """Problems met while converting, counted by kind, with a few example names each."""

    counts: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, kind: str, example: str = "", count: int = 1) -> None:
        self.counts[kind] += count
        if example and len(self.examples[kind]) < 3:
            self.examples[kind].append(example)

    def lines(self) -> list[str]:
        out = []
        for kind, count in sorted(self.counts.items()):
            shown = ", ".join(self.examples.get(kind, []))
            more = " …" if count > len(self.examples.get(kind, [])) and shown else ""
            out.append(f"{count} {kind}" + (f" ({shown}{more})" if shown else ""))
        return out


def convert_box(box: tuple[float, float, float, float], size: tuple[int, int],
                report: Report, where: str) -> list[int] | None:
    """Clip to the image, round half up; None for boxes with no area left."""
    width, height = size
    limits = (width, height, width, height)
    clipped = [min(max(v, 0.0), limit) for v, limit in zip(box, limits)]
    if clipped != list(box):
        report.add("boxes clipped to the image", where)
    x0, y0, x1, y1 = (int(math.floor(v + 0.5)) for v in clipped)
    if x1 <= x0 or y1 <= y0:
        report.add("zero-area boxes dropped", where)
        return None
    return [x0, y0, x1, y1]
