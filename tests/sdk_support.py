"""The openai SDK's own types, as tests check the fake server's events against them."""

from __future__ import annotations

import typing
from typing import Any

from openai.types.responses import ResponseStreamEvent

# ResponseStreamEvent is Annotated[Union[...], PropertyInfo(discriminator="type")]: unwrap both.
EVENT_CLASSES: dict[str, Any] = {
    typing.get_args(cls.model_fields["type"].annotation)[0]: cls
    for cls in typing.get_args(typing.get_args(ResponseStreamEvent)[0])
}
