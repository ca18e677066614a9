"""A queue's music: the recording an admin uploads for callers to hear while they wait.

Checked and converted as a recorded prompt is (`ivr.recordings.store_queue_music`: any
sox-readable audio, 10 MB and 60 s at most, made 8 kHz mono and levelled), stored by a digest
of its audio under ``var/recordings/_queues/<queue>/`` and named on the queue's row; callers who
join the queue from then on hear it between the position messages. Clearing it brings back the
generated melody. Every change is audited (file names and sizes, never audio).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import IO, Any

from sqlalchemy.orm import Session

from console.admin.services import audit, queues
from console.admin.services.base import Actor, Invalid
from console.admin.services.flow_prompts import RECORDINGS_DIR, spool_upload
from ivr.prompts import PromptError, inspect_recording
from ivr.recordings import queue_music_file, store_queue_music
from store.private_files import FILE_MODE

_SUFFIX = re.compile(r"\.[a-z0-9]{1,5}")


def music_path(var_dir: str | Path, queue: str, name: str) -> Path:
    """The stored music file *name* of *queue*."""
    return queue_music_file(Path(var_dir) / RECORDINGS_DIR, queue, name)


def upload(session: Session, actor: Actor, var_dir: str | Path, queue_id: int,
           stream: IO[bytes] | None, filename: str = "") -> dict[str, Any]:
    """Make an uploaded recording the music of queue *queue_id*; a refusal changes nothing."""
    queue = queues.get(session, queue_id)
    if stream is None:
        raise Invalid({"music": "choose an audio file"})
    shown = Path(filename or "upload").name[:100] or "upload"
    recordings = Path(var_dir) / RECORDINGS_DIR
    with tempfile.TemporaryDirectory() as tmp:
        suffix = Path(shown).suffix.lower()  # a hint for sox's format guess, nothing more
        source = Path(tmp) / ("upload" + (suffix if _SUFFIX.fullmatch(suffix) else ""))
        try:
            size = spool_upload(stream, source, shown)
        except Invalid as error:
            raise Invalid({"music": error.errors["file"]}) from None
        if size == 0:
            raise Invalid({"music": f"{shown}: the file is empty; nothing was stored"})
        try:
            seconds = inspect_recording(source).seconds
            name = store_queue_music(source, recordings, queue.name)
        except PromptError as error:
            reason = str(error).split(": ", 1)[-1]
            raise Invalid({"music": f"{shown}: {reason}; nothing was stored"}) from None
    os.chmod(queue_music_file(recordings, queue.name, name), FILE_MODE)
    before, queue.music = queue.music, name
    audit.record(session, actor, "queue.music", "queue", queue.id, queue.name,
                 {"music": before},
                 {"music": name, "upload": shown, "bytes": size, "seconds": round(seconds, 2)})
    return {"queue_id": queue.id, "queue": queue.name, "music": name,
            "seconds": round(seconds, 2)}


def clear(session: Session, actor: Actor, queue_id: int) -> dict[str, Any]:
    """Back to the generated melody for queue *queue_id*."""
    queue = queues.get(session, queue_id)
    before, queue.music = queue.music, None
    if before is not None:
        audit.record(session, actor, "queue.music", "queue", queue.id, queue.name,
                     {"music": before}, {"music": None})
    return {"queue_id": queue.id, "queue": queue.name, "music": None}
