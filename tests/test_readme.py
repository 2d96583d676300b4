"""The README's two commands are the ones that work: CI runs the test command verbatim."""

from __future__ import annotations

import re

from helpers import REPO


def readme_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)
    return [block.strip() for block in blocks]


def test_readme_states_install_run_and_test_commands():
    install_and_run, test = readme_commands()[:2]
    assert "pip install -r requirements.txt" in install_and_run
    assert "python -m yolo3.download yolov3-tiny" in install_and_run
    assert "python convert.py cfg/yolov3-tiny.cfg" in install_and_run
    assert "python yolo_video.py" in install_and_run and "model_data/sample.jpg" in install_and_run
    assert "pytest" in test


def test_ci_runs_the_readme_test_command_verbatim():
    test = readme_commands()[1]
    ci_lines = [line.strip() for line in (REPO / ".ci/run").read_text().splitlines()]
    assert test in ci_lines
