"""Image parts checked as the live API checks them: `input_image` (Responses) and `image_url`
(Chat Completions).

A data URL must name an image MIME type the API supports and carry base64 that decodes to an
image of that kind (judged by magic bytes, with the engine's own `sniff_mime`); an http(s) URL is taken
as is (the fake fetches nothing); `detail` is one of the API's values.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from tui.engine.images import sniff_mime
from tui.fakeserver.validate import Refusal, _invalid_value, _missing

SUPPORTED_MIME = ("image/jpeg", "image/png", "image/gif", "image/webp")
DETAILS = ("low", "high", "auto", "original")
MAX_IMAGE_BYTES = 50 * 1024 * 1024  # the Responses API's cap on image bytes in one request
_DATA_URL = re.compile(r"^data:([^;,]*)(;base64)?,(.*)$", re.DOTALL)


def _invalid_image_data() -> Refusal:
    return Refusal(
        "The image data you provided does not represent a valid image. Please check your input and try "
        f"again with one of the supported image formats: {list(SUPPORTED_MIME)}.",
        param=None,
        code="invalid_image_format",
    )


def check_image_url(url: object, param: str) -> Refusal | None:
    """A data URL or an http(s) URL, as `image_url` carries it in either API."""
    if not isinstance(url, str) or not url:
        return _missing(param)
    if url.startswith(("https://", "http://")):
        return None
    m = _DATA_URL.match(url)
    if m is None:
        return Refusal(
            f"Invalid '{param}'. Expected a valid URL, but got a value with an invalid format.",
            param=param, code="invalid_value",
        )
    mime, is_base64, payload = m.groups()
    if mime not in SUPPORTED_MIME or not is_base64:
        got = f"unsupported MIME type '{mime}'" if mime not in SUPPORTED_MIME else "data that is not base64"
        return Refusal(
            f"Invalid '{param}'. Expected a base64-encoded data URL with an image MIME type (e.g. "
            f"'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU='), but got {got}.",
            param=param, code="invalid_value",
        )
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return _invalid_image_data()
    if len(data) > MAX_IMAGE_BYTES:
        return Refusal(f"Invalid '{param}': the image is larger than 50 MB.", param=param, code="image_too_large")
    if sniff_mime(data[:16]) != mime:
        return _invalid_image_data()
    return None


def check_input_image(part: dict[str, Any], where: str) -> Refusal | None:
    """An `input_image` part of a Responses message: `image_url` or `file_id`, and `detail`."""
    if "detail" in part and part["detail"] not in DETAILS:
        return _invalid_value(part["detail"], f"{where}.detail", DETAILS)
    if part.get("file_id") is not None:
        return None if isinstance(part["file_id"], str) else _missing(f"{where}.file_id")
    return check_image_url(part.get("image_url"), f"{where}.image_url")


def check_chat_content(content: object, where: str) -> Refusal | None:
    """A chat message's content: a string, or parts of which `image_url` ones are checked."""
    if content is None or isinstance(content, str) or not isinstance(content, list):
        return None
    for j, part in enumerate(content):
        if isinstance(part, dict) and part.get("type") == "image_url":
            image = part.get("image_url")
            if not isinstance(image, dict):
                return _missing(f"{where}.content[{j}].image_url")
            refusal = check_image_url(image.get("url"), f"{where}.content[{j}].image_url.url")
            if refusal is not None:
                return refusal
    return None
