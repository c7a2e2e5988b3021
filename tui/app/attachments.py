"""Images attached in the composer: each stands in the text as its chip, "[image: shot.png 120 KB]".

An image comes in three ways: `-i FILE` at start, a pasted path to an image file, or an `@` mention
whose chosen file is an image. Whether a file is an image is decided by its bytes
(tui/engine/images.py), so a pasted `~/.ssh/id_rsa` stays pasted text and is never attached. The
chip is what the user sees, moves and deletes like any text; when the message is sent, the chips
still in it say which images go (`paths_in`), in the order they appear.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from urllib.parse import unquote, urlparse

from tui.engine.images import IMAGE_KINDS, ImageAttachment, ImageError, has_control_chars, human_size, load_image
from tui.safety.terminal_text import neutralize

# A name with one of these suffixes that fails to load is said to be no image, rather than
# pasted silently as text: the user meant to attach it.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")
_MAX_PASTED_PATH = 4096


class Attachments:
    """The images attached in one composer, by chip."""

    def __init__(self) -> None:
        self._paths: dict[str, str] = {}

    def add(self, image: ImageAttachment) -> str:
        """The chip for `image` (another of the same name and size gets a number)."""
        name = neutralize(image.name, strict=True).replace("]", "⟧")
        label, n = f"[image: {name} {human_size(image.size)}]", 2
        while self._paths.get(label, image.path) != image.path:
            label, n = f"[image: {name} {human_size(image.size)} #{n}]", n + 1
        self._paths[label] = image.path
        return label

    def chip_before(self, text: str) -> int:
        """The length of the chip `text` ends with, or 0."""
        return max((len(label) for label in self._paths if text.endswith(label)), default=0)

    def paths_in(self, text: str) -> list[str]:
        """The files of the chips in `text`, in the order they first appear there."""
        found = sorted((text.index(label), path) for label, path in self._paths.items() if label in text)
        seen: list[str] = []
        for _, path in found:
            if path not in seen:
                seen.append(path)
        return seen


def app_cwd(app: object) -> Path:
    """The folder relative paths mean: the session's, or the one it will start in."""
    session = getattr(app, "session", None)
    if session is not None:
        return Path(session.settings.cwd)
    preview = getattr(app, "preview", None)
    return Path(preview.cwd) if preview is not None else Path.cwd()


def pasted_paths(text: str) -> list[list[str]]:
    """The ways a paste may be one or more file paths, to try in order: shell-quoted or escaped
    words (a file manager's drop: `'/a b.png' /c.png`, `my\\ shot.png`), file:// URLs, the whole
    line as one path (spaces and all), its space-separated words. Empty for a paste that is no
    path (several lines, control characters, a bare word without an image suffix)."""
    text = text.strip()
    if not text or len(text) > _MAX_PASTED_PATH or "\n" in text or has_control_chars(text):
        return []
    options: list[list[str]] = []
    if text.startswith("file://"):
        options.append([unquote(urlparse(url).path) for url in text.split()])
    elif text[0] in "'\"" or "\\" in text:
        try:
            options.append(shlex.split(text))
        except ValueError:
            return []
    elif " " not in text:
        options.append([text])
    else:  # one path with spaces, or several: only what starts as a path can be one ("fix a.png" is text)
        options += [[text], text.split()] if text.startswith(("/", "~", ".")) else []
    return [paths for paths in options if paths and all(map(_looks_like_path, paths))]


def _looks_like_path(text: str) -> bool:
    return text.startswith(("/", "~", ".")) or os.sep in text or text.lower().endswith(IMAGE_SUFFIXES)


def _exists(path: str, cwd: Path) -> bool:
    try:
        return (cwd / os.path.expanduser(path)).exists()
    except (OSError, ValueError):
        return False


def attach(attachments: Attachments, text: str, cwd: Path) -> tuple[str | None, str | None]:
    """(chips, None) when `text` names image files (all of them images); (None, why) when it
    names something meant as an image that is not one; (None, None) when it is no image path at
    all (paste it as text)."""
    why: str | None = None
    for paths in pasted_paths(text):
        try:
            images = [load_image(path, cwd, probe=True) for path in paths]
        except ImageError as e:
            # Said only for a file that is there and named as an image: other pastes are text.
            if why is None and any(p.lower().endswith(IMAGE_SUFFIXES) and _exists(p, cwd) for p in paths):
                why = neutralize(f"Not attached: {e}. Images are {IMAGE_KINDS} files up to 20 MB.", strict=True)
            continue
        return " ".join(attachments.add(image) for image in images), None
    return None, why
