"""yolo3.files: outputs appear whole or not at all, never onto inputs; text in any of the
encodings editors write."""

from __future__ import annotations

import codecs
import os

import pytest

from yolo3.errors import YoloError
from yolo3.files import (
    atomic_output,
    check_writable,
    read_json,
    read_text,
    refuse_overwriting_inputs,
    same_location,
    write_text_atomic,
)


def test_success_renames_into_place(tmp_path):
    target = tmp_path / "sub" / "out.weights.h5"
    with atomic_output(target) as tmp:
        assert tmp.name.endswith("out.weights.h5") and tmp.exists()
        tmp.write_text("data")
    assert target.read_text() == "data"
    assert [p.name for p in target.parent.iterdir()] == ["out.weights.h5"]


def test_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_unwritable_destinations(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(YoloError, match="is a file, not a folder"):
        check_writable(tmp_path / "file" / "out.h5")
    with pytest.raises(YoloError, match="it is a directory"):
        write_text_atomic(tmp_path, "x")


def test_check_writable_leaves_nothing_behind(tmp_path):
    check_writable(tmp_path / "new" / "deeper" / "out.txt")
    assert list(tmp_path.iterdir()) == []


def test_outputs_onto_inputs_are_refused_through_links(tmp_path):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"jpeg")
    (tmp_path / "link.jpg").symlink_to(photo)
    (tmp_path / "dir").mkdir()
    (tmp_path / "dirlink").symlink_to(tmp_path / "dir")
    for output, source in [(photo, photo), (tmp_path / "link.jpg", photo),
                           (tmp_path / "dirlink", tmp_path / "dir"),
                           (tmp_path / "dir" / ".." / "photo.jpg", photo)]:
        assert same_location(output, source)
        with pytest.raises(YoloError, match="refusing to write .*: it is the input"):
            refuse_overwriting_inputs([None, output], [None, source])
    refuse_overwriting_inputs([tmp_path / "out.jpg", tmp_path / "dir" / "photo.jpg"], [photo])


def test_abandoned_temporary_files_go_with_the_next_write(tmp_path):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".partial-{dead}-0123abcd-out.txt"
    stale.write_text("half")
    alive = tmp_path / f".partial-{os.getpid()}-0123abcd-out.txt"  # a running writer's
    alive.write_text("half")
    write_text_atomic(tmp_path / "out.txt", "whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == [alive.name, "out.txt"]


@pytest.mark.parametrize("data, text", [
    (b"plain\n", "plain\n"),
    (codecs.BOM_UTF8 + "é\n".encode(), "é\n"),
    ("é\r\n".encode("utf-16"), "é\r\n"),
    (codecs.BOM_UTF16_BE + "é".encode("utf-16-be"), "é"),
    ("é".encode("utf-32"), "é"),
])
def test_read_text_encodings(tmp_path, data, text):
    path = tmp_path / "t.txt"
    path.write_bytes(data)
    assert read_text(path) == text


def test_read_text_says_what_is_wrong(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(YoloError, match=r"t.txt: not UTF-8 text \(byte 0xe9 at offset 3\)"):
        read_text(path)
    path.write_bytes(codecs.BOM_UTF16_LE + b"\x00\xd8")  # a lone surrogate
    with pytest.raises(YoloError, match="not valid UTF-16-LE text despite its byte order mark"):
        read_text(path)


JSON_CASES = [
    ('{"a": [1, 2.5, "x"], "b": null}', {"a": [1, 2.5, "x"], "b": None}),
    ('{"score": NaN}', "nan"),  # orjson refuses; the standard library reads it
    ('{"a": 1, "a": 2}', {"a": 2}),  # the last of repeated keys, as json
    ('["\\ud800"]', ["\ud800"]),  # a lone surrogate escaped
    ("[" + "9" * 400 + "]", [int("9" * 400)]),  # beyond a double: left to json
    ("[18446744073709551615, 0.0022290075028803535, 1e-0000000000000000000001]",
     [18446744073709551615, 0.0022290075028803535, 0.1]),
]


@pytest.mark.parametrize("with_orjson", [True, False])
@pytest.mark.parametrize("text, expected", JSON_CASES)
def test_read_json_reads_what_the_standard_library_reads(tmp_path, monkeypatch, with_orjson,
                                                         text, expected):
    import sys

    if not with_orjson:
        monkeypatch.setitem(sys.modules, "orjson", None)  # as if not installed
    path = tmp_path / "t.json"
    path.write_text(text, encoding="utf-8")
    data = read_json(path)
    if expected == "nan":
        assert data["score"] != data["score"]
    else:
        assert data == expected


def test_read_json_integers_beyond_64_bits_stay_numbers(tmp_path):
    """The one difference orjson makes: the number, as a float."""
    path = tmp_path / "t.json"
    path.write_text("[" + "9" * 30 + "]", encoding="utf-8")
    assert read_json(path)[0] == pytest.approx(1e30)


@pytest.mark.parametrize("with_orjson", [True, False])
def test_read_json_names_a_broken_file(tmp_path, monkeypatch, with_orjson):
    import sys

    if not with_orjson:
        monkeypatch.setitem(sys.modules, "orjson", None)
    path = tmp_path / "d.json"
    path.write_text('{"a": [1, 2', encoding="utf-8")
    with pytest.raises(YoloError, match=r"d.json: not a detections file \(Expecting"):
        read_json(path, "a detections file")


def test_file_digests_follow_the_bytes_not_the_name(tmp_path):
    from yolo3.files import file_digest

    (tmp_path / "a.jpg").write_bytes(b"photo" * 1000)
    (tmp_path / "b.jpg").write_bytes(b"photo" * 1000)
    (tmp_path / "c.jpg").write_bytes(b"photo" * 999 + b"photx")
    assert file_digest(tmp_path / "a.jpg") == file_digest(tmp_path / "b.jpg")
    assert file_digest(tmp_path / "a.jpg") != file_digest(tmp_path / "c.jpg")
    assert file_digest(tmp_path / "a.jpg", chunk=7) == file_digest(tmp_path / "a.jpg")
    assert 0 <= file_digest(tmp_path / "a.jpg") < 2**64


def test_exclusive_makes_processes_take_turns(tmp_path):
    """Two processes holding the same lock never overlap."""
    import subprocess
    import sys

    script = (
        "import sys, time; sys.path.insert(0, '.'); from yolo3.files import exclusive\n"
        "with exclusive(sys.argv[1]):\n"
        "    open(sys.argv[2], 'a').write('in\\n'); time.sleep(0.5)\n"
        "    open(sys.argv[2], 'a').write('out\\n')\n")
    from helpers import REPO

    log = tmp_path / "log"
    workers = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "lock"),
                                 str(log)], cwd=REPO) for _ in range(3)]
    assert [w.wait(timeout=60) for w in workers] == [0, 0, 0]
    assert log.read_text() == "in\nout\n" * 3
