"""The form an MCP server asked the user to fill (`McpElicitationRequested`).

One input per field; Tab and Enter move between them, Ctrl+S sends, Ctrl+D declines, Esc
cancels. Sending needs that explicit key (never a typed-ahead Enter), and a bad value is shown
under the form with everything typed kept. What the server wrote (its message, titles,
descriptions, choices) is neutralized by the screen's choke point before it gets here; it is
shown as plain text, never as markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from tui.protocol import McpElicitationRequested
from tui.tools.mcp_elicit import coerce

Answer = tuple[str, "dict[str, str] | None"]


def _hint(field: dict[str, object]) -> str:
    kind = field["type"]
    if kind == "enum":
        return "one of: " + ", ".join(str(c) for c in field["choices"])  # type: ignore[attr-defined]
    return {"boolean": "yes or no", "integer": "a whole number", "number": "a number"}.get(str(kind), "text")


class ElicitationScreen(ModalScreen[Answer]):
    DEFAULT_CSS = """
    ElicitationScreen { align: center middle; }
    ElicitationScreen > Vertical {
        width: 90%; max-width: 100; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    ElicitationScreen #title { text-style: bold; }
    ElicitationScreen #message { margin: 1 0; }
    ElicitationScreen VerticalScroll { height: auto; max-height: 24; }
    ElicitationScreen .field-label { margin: 1 0 0 0; }
    ElicitationScreen #problem { color: $error; height: auto; }
    ElicitationScreen #keys { color: $text-muted; margin: 1 0 0 0; }
    """
    # Priority: settled as each key arrives, so "staging⏎3" typed in one burst puts 3 in the
    # next field (Input's own Enter posts a message, handled after the keys behind it).
    BINDINGS = [
        Binding("enter", "next_field", "Next field", id="elicitation.next", priority=True, show=False),
        # Not priority: Ctrl+S goes through the focused field's queue, behind the keys typed
        # before it, so what it sends is what was typed (a priority binding ran ahead of them).
        Binding("ctrl+s", "send", "Send", id="elicitation.send"),
        Binding("ctrl+d", "answer('decline')", "Decline", id="elicitation.decline", priority=True),
        Binding("escape", "answer('cancel')", "Cancel", id="elicitation.cancel", priority=True),
    ]

    def __init__(self, request: McpElicitationRequested) -> None:
        super().__init__()
        self.request = request

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"The MCP server {self.request.server} asks:"), id="title")
            yield Static(Text(self.request.message), id="message")
            with VerticalScroll():
                for i, field in enumerate(self.request.fields):
                    required = " (required)" if field["required"] else ""
                    label = Text(f"{field['title']}{required} — {_hint(field)}")
                    if field["description"]:
                        label.append(f"\n{field['description']}", style="dim")
                    yield Label(label, classes="field-label")
                    yield Input(id=f"field-{i}", placeholder=_hint(field))
            yield Static("", id="problem")
            yield Static("Ctrl+S send · Ctrl+D decline · Esc cancel · Tab/Enter next field", id="keys")

    def on_mount(self) -> None:
        self.query_one("#field-0", Input).focus()

    def typed(self) -> dict[str, str]:
        return {f["name"]: self.query_one(f"#field-{i}", Input).value for i, f in enumerate(self.request.fields)}

    def action_next_field(self) -> None:
        self.focus_next(Input)

    def action_send(self) -> None:
        _, problem = coerce(self.request.fields, self.typed())
        if problem is not None:
            self.query_one("#problem", Static).update(Text(problem))
            return
        self.dismiss(("accept", self.typed()))

    def action_answer(self, action: str) -> None:
        self.dismiss((action, None))
