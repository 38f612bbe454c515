"""The one place stored files live: FILES_ROOT (shared by every host), one folder per kind."""
from __future__ import annotations

from pathlib import Path

from flask import current_app


def files_dir(kind: str, override_setting: str | None = None) -> Path:
    """Return (and create, mode 700) the folder for one kind of stored file.

    Every host of one installation must see the same files, so they all live under FILES_ROOT
    (default: the instance folder); `override_setting` names an older per-kind setting that still wins.
    """
    override = current_app.config.get(override_setting) if override_setting else None
    root = current_app.config.get("FILES_ROOT") or current_app.instance_path
    path = Path(override) if override else Path(root) / kind
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path
