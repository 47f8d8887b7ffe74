"""The protocol module both sides import, against the page that describes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.train import protocol
from studio.train.tasks import TASKS

PAGE = (Path(__file__).resolve().parents[2] / "studio" / "train" / "PROTOCOL.md").read_text(encoding="utf-8")


def test_events_are_made_only_with_known_names():
    assert protocol.event(protocol.PROGRESS, step=3) == {"event": "progress", "step": 3}
    assert protocol.event(protocol.TEXT, line="x")["event"] == "text"
    with pytest.raises(ValueError, match="unknown protocol event 'progres'"):
        protocol.event("progres", step=3)


def test_the_page_describes_every_event_stop_reason_and_control_file():
    for name in protocol.EVENTS:
        assert f'{{"event":"{name}"' in PAGE, name
    for reason in protocol.STOP_REASONS:
        assert reason in PAGE, reason
    for kind in protocol.WARNING_KINDS:
        assert kind in PAGE, kind
    assert f"Control files in RUNDIR: `{protocol.STOP_FILE}`" in PAGE and f"`{protocol.PAUSE_FILE}` (while" in PAGE
    for task in TASKS.values():
        assert f'"{task.metric}"' in PAGE, task.name
