"""Pascal VOC style exports → training-list annotations.

Layouts understood (the export folder is ``data_dir``):
- VOCdevkit year folder: ``Annotations/``, ``JPEGImages/``, ``ImageSets/Main/<set>.txt``
  listing image ids.
- VoTT v1 "Tensorflow Pascal VOC" and VoTT v2 "Pascal VOC" exports: the same folders, but
  the image sets are ``ImageSets/Main/<class>_<set>.txt`` with ``<id> 1|-1`` lines (v2 ids
  carry the file extension; names are percent-encoded on disk, ``data%2F`` prefixes
  included). Every image listed in any class file of a set belongs to the set, once.
- A LabelImg folder: XML files beside their images, no image sets (everything goes to
  the first set).

Boxes: VOC coordinates (often floats in VoTT exports) are clipped to the image, then
rounded half up to integers; boxes left with no area are dropped. Every problem met is
counted in a :class:`Report` instead of stopping the run.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import numpy as np

from yolo3.data.annotations import Annotation
from yolo3.data.conversion import Report, convert_box
from yolo3.errors import YoloError
from yolo3.files import read_text
from yolo3.images import IMAGE_SUFFIXES, image_size

SET_FLAGS = {"1", "-1", "0"}


@dataclass
class VocObject:
    name: str
    box: tuple[float, float, float, float]  # x_min, y_min, x_max, y_max as written
    difficult: bool


@dataclass
class VocRecord:
    xml_path: Path
    filename: str | None
    size: tuple[int, int] | None  # (width, height) when the XML states a usable one
    objects: list[VocObject]


def read_voc_xml(path: Path) -> VocRecord:
    """Parse one annotation XML; YoloError when it is not usable XML."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, UnicodeDecodeError, ValueError) as error:
        raise YoloError(f"{path.name}: malformed XML ({error})") from None
    if root.tag != "annotation":
        raise YoloError(f"{path.name}: not a VOC annotation (root <{root.tag}>)")
    size = None
    width, height = _number(root.findtext("size/width")), _number(root.findtext("size/height"))
    if width and height and width > 0 and height > 0:
        size = (int(width), int(height))
    objects = []
    for element in root.findall("object"):
        name = (element.findtext("name") or "").strip()
        coords = [_number(element.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax",
                                                                     "ymax")]
        if not name or any(c is None for c in coords):
            raise YoloError(f"{path.name}: an <object> lacks a name or bndbox coordinates")
        objects.append(VocObject(name, tuple(coords),
                                 (element.findtext("difficult") or "0").strip() == "1"))
    filename = (root.findtext("filename") or "").strip() or None
    return VocRecord(path, filename, size, objects)


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class ImageFolder:
    """Finds an annotation's image in a folder, however the exporter spelt its name."""

    def __init__(self, folder: Path):
        self.folder = folder
        names = [p.name for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []
        self.names = {name for name in names if Path(name).suffix.lower() in IMAGE_SUFFIXES}
        self.by_stem: dict[str, str] = {}
        for name in sorted(self.names):
            self.by_stem.setdefault(Path(name).stem, name)

    def find(self, *hints: str | None) -> Path | None:
        for hint in filter(None, hints):
            for candidate in _spellings(hint):
                if candidate in self.names:
                    return self.folder / candidate
                stem_match = self.by_stem.get(candidate)
                if stem_match and Path(candidate).suffix.lower() not in IMAGE_SUFFIXES:
                    return self.folder / stem_match
                if Path(candidate).suffix.lower() in IMAGE_SUFFIXES:
                    other = self.by_stem.get(Path(candidate).stem)
                    if other:
                        return self.folder / other
        return None


def _spellings(name: str) -> list[str]:
    """The name as written, percent-decoded, and without a folder prefix (``data%2F``)."""
    decoded = unquote(name)
    forms = [name, decoded, name.replace("\\", "/").rsplit("/", 1)[-1],
             decoded.replace("\\", "/").rsplit("/", 1)[-1]]
    return list(dict.fromkeys(forms))


def read_image_set(path: Path) -> list[str]:
    """Ids listed in one image-set file: ``<id>`` or VoTT's ``<id> 1|-1`` lines."""
    ids = []
    for line in read_text(path).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.rsplit(None, 1)
        ids.append(parts[0] if len(parts) == 2 and parts[1] in SET_FLAGS else line)
    return ids


@dataclass
class Export:
    """A located export: where XMLs and images are and which ids each set has."""

    kind: str  # "vocdevkit", "vott" or "folder"
    annotations: Path
    images: ImageFolder
    sets: dict[str, list[str]]  # set name → ids (None-free, de-duplicated)


# the folder names exports and public sets use, the Pascal VOC spelling first
ANNOTATION_FOLDERS = ("Annotations", "annotations", "annots", "Annots")
IMAGE_FOLDERS = ("JPEGImages", "images", "Images", "imgs")


def _child(folder: Path, names: tuple[str, ...]) -> Path | None:
    return next((folder / name for name in names if (folder / name).is_dir()), None)


def locate_export(data_dir: Path, sets: list[str], report: Report) -> Export:
    """Where an export's XMLs, images and image sets are. Layouts: VOCdevkit and VoTT
    (``Annotations/``, ``JPEGImages/``, ``ImageSets/Main/``); public sets' ``annotations/``
    beside ``images/`` (image sets as ``<set>.txt`` beside them, if any); LabelImg's XMLs
    beside their images, or an annotations folder given itself with its images in a
    sibling folder."""
    if not data_dir.is_dir():
        raise YoloError(f"{data_dir}: no such folder")
    annotations = _child(data_dir, ANNOTATION_FOLDERS)
    if annotations is None:
        stems = sorted(p.stem for p in data_dir.glob("*.xml"))
        if not stems:
            raise YoloError(f"{data_dir}: no Annotations/ folder and no .xml files (nor an "
                            "annotations/ folder beside images/)")
        beside = ImageFolder(data_dir)
        sibling = _child(data_dir.parent, IMAGE_FOLDERS)
        images = beside if beside.names or sibling is None else ImageFolder(sibling)
        return Export("folder", data_dir, images, {sets[0]: stems})
    images = ImageFolder(_child(data_dir, IMAGE_FOLDERS) or data_dir / "JPEGImages")
    main = data_dir / "ImageSets" / "Main"
    found: dict[str, list[str]] = {}
    kind = "vocdevkit" if main.is_dir() else "folder"
    for name in sets:
        if main.is_dir():
            files = [main / f"{name}.txt"] if (main / f"{name}.txt").is_file() else sorted(
                main.glob(f"*_{name}.txt"))
        else:  # a public set's own split files beside its folders
            files = [data_dir / f"{name}.txt"] if (data_dir / f"{name}.txt").is_file() else []
        if files and files[0].name != f"{name}.txt":
            kind = "vott"
        ids = [i for f in files for i in read_image_set(f)]
        unique = list(dict.fromkeys(ids))
        if len(unique) < len(ids) and kind == "vocdevkit":
            report.add("repeated ids in an image set", name, len(ids) - len(unique))
        if unique:
            found[name] = unique
    if not found:  # no image sets at all: every XML, in the first set
        stems = sorted(p.stem for p in annotations.glob("*.xml"))
        return Export("folder", annotations, images, {sets[0]: stems})
    return Export(kind, annotations, images, found)


def _xml_for(export: Export, image_id: str) -> Path | None:
    for candidate in (image_id, Path(image_id).stem if Path(image_id).suffix.lower()
                      in IMAGE_SUFFIXES else None):
        if candidate and (export.annotations / f"{candidate}.xml").is_file():
            return export.annotations / f"{candidate}.xml"
    return None


def _image_size(path: Path) -> tuple[int, int] | None:
    try:
        return image_size(path)
    except YoloError:
        return None


def convert_export(data_dir: Path, sets: list[str], classes: list[str] | None,
                   keep_difficult: bool = False, progress: bool = True
                   ) -> tuple[dict[str, list[Annotation]], list[str], Report]:
    """Read an export; return annotations per set, the class names used, and the report.

    ``classes`` None means: discover the class names from the objects, sorted.
    """
    from tqdm import tqdm

    report = Report()
    export = locate_export(Path(data_dir), sets, report)
    records: dict[str, tuple[VocRecord, Path]] = {}
    all_ids = list(dict.fromkeys(i for ids in export.sets.values() for i in ids))
    for image_id in tqdm(all_ids, unit="xml", disable=not progress or len(all_ids) < 500,
                         desc="annotations"):
        xml = _xml_for(export, image_id)
        if xml is None:
            report.add("ids without an XML file", image_id)
            continue
        try:
            record = read_voc_xml(xml)
        except YoloError:
            report.add("malformed XML files skipped", xml.name)
            continue
        image = export.images.find(record.filename, image_id, xml.stem)
        if image is None:
            report.add("images not found", record.filename or xml.stem)
            continue
        if any(c in str(image) for c in "\r\n"):
            report.add("unusable image paths (line breaks)", image.name)
            continue
        records[image_id] = (record, image)
    if classes is None:
        classes = sorted({o.name for record, _ in records.values() for o in record.objects
                          if keep_difficult or not o.difficult})
    index = {name: i for i, name in enumerate(classes)}
    converted = {i: _annotation(entry, index, keep_difficult, report)
                 for i, entry in records.items()}
    result = {name: [converted[i] for i in ids if i in converted]
              for name, ids in export.sets.items()}
    spaced = sum(" " in a.path for lines in result.values() for a in lines)
    if spaced:
        report.add("image paths with spaces (kept; read them with yolo3.data.annotations)",
                   count=spaced)
    return result, classes, report


def _annotation(entry: tuple[VocRecord, Path], index: dict[str, int], keep_difficult: bool,
                report: Report) -> Annotation:
    record, image = entry
    size = record.size or _image_size(image)
    boxes = []
    for obj in record.objects:
        if obj.difficult and not keep_difficult:
            report.add("difficult objects dropped", record.xml_path.name)
            continue
        if obj.name not in index:
            report.add("objects of classes not in the classes file", obj.name)
            continue
        if size is None:
            report.add("images whose size is unknown (boxes not clipped)", image.name)
            size = (10**9, 10**9)
        box = convert_box(obj.box, size, report, record.xml_path.name)
        if box is not None:
            boxes.append(box + [index[obj.name]])
    return Annotation(str(image), np.array(boxes, dtype=np.int64).reshape(-1, 5))
