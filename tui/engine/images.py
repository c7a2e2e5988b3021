"""Images the user attaches to a message: checked, read, sent inline, recorded by reference.

An image is sent as an `input_image` part holding a base64 data URL (the Responses API's form;
the Chat Completions client turns it into an `image_url` part). The rollout never holds the blob:
`ImageRefs.rollout_form` swaps each data URL for `{"path", "sha256", "mime", "size"}`, and resume
(`restore`) reads the file again. An intact file gives the same bytes, hence the same data URL and
a byte-identical request prefix; a file that changed or vanished is replaced by a text note that
says so (the model is told an image was there; the user gets a warning).

What gets attached is decided by the file's content, not its name: PNG, JPEG, GIF or WebP by their
magic bytes, at most `MAX_IMAGE_BYTES`, a regular file opened without following a symlink in the
last component (a repository's `shot.png -> ~/.ssh/id_rsa`, a FIFO that would block, /dev/zero
are refused before a byte is read), and a path without control characters.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_IMAGE_BYTES = 20 * 1024 * 1024
IMAGE_KINDS = "PNG, JPEG, GIF or WebP"
_PREFIX = "data:"
_MARK = ";base64,"


class ImageError(ValueError):
    """An image that cannot be attached; the message names the file and says why."""


def sniff_mime(head: bytes) -> str | None:
    """The MIME type of an image by its first bytes, or None for anything else."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(head) >= 12 and head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def chip(name: str, size: int) -> str:
    """How an attached image is shown in the composer and the conversation."""
    return f"[image: {name} {human_size(size)}]"


def has_control_chars(text: str) -> bool:
    return any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text)


@dataclass(frozen=True)
class ImageAttachment:
    path: str  # absolute, as opened
    mime: str
    size: int
    sha256: str
    data: bytes = field(repr=False)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def chip(self) -> str:
        return chip(self.name, self.size)

    def data_url(self) -> str:
        return f"{_PREFIX}{self.mime}{_MARK}{base64.b64encode(self.data).decode('ascii')}"

    def part(self) -> dict[str, Any]:
        return {"type": "input_image", "image_url": self.data_url()}

    def ref(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "mime": self.mime, "size": self.size}


def resolve_path(text: str, cwd: Path) -> Path:
    if has_control_chars(text):
        raise ImageError(f"{text!r}: an image path with control characters is not attached")
    path = Path(os.path.expanduser(text))
    return path if path.is_absolute() else cwd / path


def load_image(
    text: str, cwd: Path, *, max_bytes: int = MAX_IMAGE_BYTES, probe: bool = False
) -> ImageAttachment:
    """Read and check the image at `text` (relative to `cwd`, `~` expanded). Raises ImageError.

    Blocking (up to `max_bytes` read and hashed): call it from a thread on an event loop.
    `probe`: check it all but read only its first bytes (the composer's chip, which must not
    stall the screen on a 20 MB file): `data` and `sha256` are left empty; the engine reads the
    file when the message is sent."""
    path = resolve_path(text, cwd)
    shown = str(path)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ImageError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{shown}: is a folder, not an image") from None
    except OSError as e:
        if os.path.islink(path):
            raise ImageError(f"{shown}: is a symbolic link; attach the file it points to by its own path") from None
        raise ImageError(f"{shown}: cannot be read ({e.strerror or e})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ImageError(f"{shown}: is a folder, not an image")
        if not stat.S_ISREG(info.st_mode):
            raise ImageError(f"{shown}: is not a regular file")
        if info.st_size == 0:
            raise ImageError(f"{shown}: is empty")
        if info.st_size > max_bytes:
            raise ImageError(
                f"{shown}: is {human_size(info.st_size)}; an image may be at most {human_size(max_bytes)}"
            )
        with os.fdopen(fd, "rb", closefd=False) as f:
            head = f.read(16)  # judged before the rest is read: a key file is never read whole
            mime = sniff_mime(head)
            if mime is None:
                raise ImageError(f"{shown}: is not a {IMAGE_KINDS} image (judged by its content, not its name)")
            if probe:
                return ImageAttachment(str(path), mime, info.st_size, "", b"")
            data = head + f.read(max_bytes + 1 - len(head))
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # it grew since fstat
        raise ImageError(f"{shown}: is larger than {human_size(max_bytes)}")
    return ImageAttachment(str(path), mime, len(data), hashlib.sha256(data).hexdigest(), data)


def load_images(paths: list[str], cwd: Path) -> tuple[list[ImageAttachment], list[str]]:
    """The images that load, and a message for each that does not (blocking, as load_image)."""
    images: list[ImageAttachment] = []
    failures: list[str] = []
    for path in paths:
        try:
            images.append(load_image(path, cwd))
        except ImageError as e:
            failures.append(str(e))
    return images, failures


def check_files(paths: list[str], cwd: Path) -> list[str]:
    """`-i` files checked before a session starts: their absolute paths, or ImageError for the
    first that cannot be attached (start-up stops with its message; nothing was sent)."""
    return [load_image(path, cwd, probe=True).path for path in paths]


def user_message(text: str, images: list[ImageAttachment]) -> dict[str, Any]:
    """The history item for a user's message with its images after the text."""
    content: list[dict[str, Any]] = [{"type": "input_text", "text": text}] if text or not images else []
    content += [image.part() for image in images]
    return {"type": "message", "role": "user", "content": content}


class ImageRefs:
    """The data URLs this session sent, each with the file it came from, so the rollout can
    record a reference instead of the blob."""

    def __init__(self) -> None:
        self._refs: dict[str, dict[str, Any]] = {}

    def add(self, image: ImageAttachment, url: str | None = None) -> None:
        self._refs[url or image.data_url()] = image.ref()

    def __bool__(self) -> bool:
        return bool(self._refs)

    def rollout_form(self, payload: Any) -> Any:
        """`payload` with every inline image replaced by its reference (a copy where changed).
        An inline image this session did not attach keeps only its hash: no blob is written."""
        if isinstance(payload, list):
            return [self.rollout_form(v) for v in payload]
        if not isinstance(payload, dict):
            return payload
        url = payload.get("image_url")
        if payload.get("type") == "input_image" and isinstance(url, str) and url.startswith(_PREFIX):
            ref = self._refs.get(url) or {"path": None, "sha256": hashlib.sha256(_decoded(url)).hexdigest()}
            rest = {k: v for k, v in payload.items() if k != "image_url"}
            return {**rest, "image_ref": ref}
        return {k: self.rollout_form(v) for k, v in payload.items()}


def _decoded(url: str) -> bytes:
    try:
        return base64.b64decode(url.partition(_MARK)[2], validate=False)
    except ValueError:
        return b""


@dataclass
class Restored:
    history: list[dict[str, Any]]
    refs: ImageRefs
    warnings: list[str]


def restore(history: list[dict[str, Any]], *, max_bytes: int = MAX_IMAGE_BYTES) -> Restored:
    """A rollout's history with each image reference read back into an inline image.

    A file that is intact gives the data URL sent before. One that is gone, changed (another
    sha256), or no longer an image becomes an `input_text` note in its place, and a warning."""
    refs = ImageRefs()
    warnings: list[str] = []
    cache: dict[tuple[str, str], dict[str, Any]] = {}

    def part(value: dict[str, Any]) -> dict[str, Any]:
        ref = value["image_ref"]
        path, digest = ref.get("path"), ref.get("sha256")
        if not isinstance(path, str) or not isinstance(digest, str):
            return _note(None, "it was not recorded by path")
        key = (path, digest)
        if key not in cache:
            cache[key] = _reload(path, digest, refs, warnings, max_bytes)
        rest = {k: v for k, v in value.items() if k != "image_ref"}
        got = cache[key]
        return {**rest, **got} if got["type"] == "input_image" else got

    def walk(value: Any) -> Any:
        if isinstance(value, list):
            return [walk(v) for v in value]
        if not isinstance(value, dict):
            return value
        if value.get("type") == "input_image" and isinstance(value.get("image_ref"), dict):
            return part(value)
        return {k: walk(v) for k, v in value.items()}

    return Restored([walk(item) for item in history], refs, warnings)


def _reload(path: str, digest: str, refs: ImageRefs, warnings: list[str], max_bytes: int) -> dict[str, Any]:
    try:
        image = load_image(path, Path("/"), max_bytes=max_bytes)
    except ImageError as e:
        warnings.append(f"An image of this session can no longer be sent ({e}); the model gets a note instead.")
        return _note(path, "the file can no longer be read")
    if image.sha256 != digest:
        warnings.append(
            f"{path} changed since it was attached to this session; the model gets a note instead of the image."
        )
        return _note(path, "the file has changed since")
    url = image.data_url()
    refs.add(image, url)
    return {"type": "input_image", "image_url": url}


def _note(path: str | None, why: str) -> dict[str, Any]:
    name = os.path.basename(path) if path else "an image"
    return {"type": "input_text", "text": f"[image {name} was attached here; it is not available any more: {why}]"}
