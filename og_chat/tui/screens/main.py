"""The chat screen: model picker, conversation, prompt and receipts."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widget import Widget

from og_chat.app.tools import TOOL_SCHEMAS, ToolContext, execute, tool_message
from og_chat.sdk.errors import OGError, StreamInterrupted
from og_chat.sdk.models import CATALOGUE, resolve_model
from og_chat.sdk.opg import opg_display
from og_chat.sdk.stream import StreamAssembler
from og_chat.sdk.types import Receipt

from ..amounts import cost_of
from ..chat import ChatState
from ..host import HostScreen
from ..keymap import bindings, keys_of
from ..messages import (
    BackendFailed,
    BackendProgress,
    BackendReady,
    ReceiptAdded,
    ReceiptUpdated,
    WalletUpdated,
)
from ..prompt_history import PromptHistory
from ..widgets.conversation import (
    HISTORY_BATCH,
    AssistantMessage,
    Conversation,
    ErrorNotice,
    Notice,
    ThrottledStream,
    ToolCallCard,
    UserMessage,
    code_blocks,
    error_message,
)
from ..widgets.inline_images import InlineImages
from ..widgets.key_footer import KeyFooter
from ..widgets.model_bar import ModelBar
from ..widgets.model_picker import ModelPicker, step_provider
from ..widgets.prompt import PromptArea
from ..widgets.receipts_panel import PAYMENT_MARK, TEE_MARK, ReceiptsPanel
from ..widgets.saved_history import saved_history
from ..widgets.status_header import StatusHeader
from ..workers import background
from .chat_settings import ChatSettingsScreen, PersonaPicker, settings_line
from .code_blocks import CodeBlocksScreen
from .models import ModelPickerScreen

MODES = ("private", "batch", "individual")
MAX_TOOL_ROUNDS = 4
SIDEBAR_AT = 180
"""Terminal width from which the model sidebar is shown; narrower, it folds to one line."""
RECEIPTS_AT = 100
"""Terminal width from which the receipts panel is shown unless the user toggled it (F5)."""


@dataclass
class TurnResult:
    """What one streamed call produced."""

    text: str = ""
    receipt: Receipt | None = None
    first_token: float | None = None
    elapsed: float = 0.0
    completion_tokens: int = 0
    stopped: bool = False
    images: list[str] = field(default_factory=list)
    """The answer's images (`data:` URIs), from the final chunk."""
    calls: StreamAssembler = field(default_factory=StreamAssembler)
    """Tool-call fragments, joined by the SDK's one assembler."""

    def add_tool_calls(self, deltas: list[dict[str, Any]], *, final: bool) -> None:
        """Fold one chunk's `delta.tool_calls` in.

        Fragments join by index (OpenAI's rule: the first name sticks, arguments
        concatenate). The SDK's final chunk repeats the calls whole, already joined by
        the same assembler: those replace the fragments, so nothing is counted twice.
        """
        if final:
            self.calls = StreamAssembler()
        self.calls.merge_tool_calls(deltas)

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        """The whole calls in index order, each with an id (made up if the model sent none)."""
        return self.calls.tool_calls() or []


def turn_stats(model_label: str, result: TurnResult) -> str:
    """The line under an answer: time to first token, speed, tokens, cost, receipt state."""
    parts = [model_label]
    if result.first_token is not None:
        parts.append(f"TTFT {result.first_token:.2f} s")
    tokens = result.completion_tokens
    if tokens:
        rate = tokens / result.elapsed if result.elapsed > 0 else 0.0
        parts.append(f"{tokens} tok · {rate:,.0f} tok/s")
    receipt = result.receipt
    if receipt is not None:
        parts.append(f"{opg_display(cost_of(receipt))} OPG")
        parts.append(f"TEE {TEE_MARK.get(receipt.signature_status, '?')}")
        status = receipt.payment_status
        parts.append(f"receipt {receipt.id[:10]} {status} {PAYMENT_MARK.get(status, '')}".rstrip())
    if result.stopped:
        parts.append("stopped")
    return " · ".join(parts)


class MainScreen(HostScreen):
    """Where the user chats; owns the conversation and the turn worker."""

    CSS_PATH = "main.tcss"  # also listed in the App: the default screen is not pushed

    BINDINGS: ClassVar[list[BindingType]] = bindings("chat")

    def __init__(self) -> None:
        super().__init__()
        self.chat = ChatState()
        """The conversation shown; its model follows the App's `model`."""
        self.tools_enabled = True
        self._draft_timer: Timer | None = None
        self.history = PromptHistory(self._earlier_prompts)
        self._older_prompts: list[str] | None = None
        """Prompts of other conversations, read on the first walk back past this one's."""
        self.editing: int | None = None
        """The index of the prompt being edited (alt+e): sending replaces its exchange."""
        self._message_widgets: dict[int, Widget] = {}
        """Message index → the widget showing it, for a resumed conversation (search)."""
        self._footers: dict[str, tuple[AssistantMessage, str, TurnResult]] = {}
        """Receipt id → the answer it paid for (its view, model label, stats), so a payment
        that settles later updates that answer's footer."""
        self.receipts_shown: bool | None = None
        """The user's F5 choice; None until then (the panel follows the terminal's width)."""

    def compose(self) -> ComposeResult:
        self._fit(self.app.size.width)  # before the children exist: restyling them costs 45 ms
        yield StatusHeader(id="status")
        with Horizontal(id="body"):
            yield ModelPicker(self.app.model, id="models")
            with Vertical(id="centre"):
                yield ModelBar(self.app.model, id="model-bar")
                yield Conversation(id="conversation")
                yield PromptArea(id="prompt")
            yield ReceiptsPanel(id="receipts")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(StatusHeader).network = self.app.requested_network
        self.watch(self.app, "model", self._model_changed)
        self.watch(self.app, "mode", self._mode_changed)
        prompt = self.query_one(PromptArea)
        prompt.earlier_prompts = self.history
        prompt.focus()

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        """Give the conversation the room: fold the model sidebar, drop the receipts panel.

        The receipts panel is a fraction of the width (its columns follow its own width);
        the sidebar has a fixed width and is worth it only on wide terminals.
        """
        self.set_class(width >= SIDEBAR_AT, "-sidebar")
        shown = self.receipts_shown if self.receipts_shown is not None else width >= RECEIPTS_AT
        self.set_class(not shown, "-no-receipts")

    def action_toggle_receipts(self) -> None:
        self.receipts_shown = self.has_class("-no-receipts")
        self._fit(self.app.size.width)

    def action_toggle_help(self) -> None:
        if self.query("HelpPanel"):
            self.app.action_hide_help_panel()
        else:
            self.app.action_show_help_panel()

    def _title(self) -> str:
        info = CATALOGUE.get(self.chat.model)
        name = info.display_name if info else self.chat.model
        config = self.app.backend.config  # set once the config is read
        line = settings_line(self.chat, self.app.mode, config.max_tokens if config else None)
        return f"{self.chat.title} — {name} · {line}"

    # -- backend status --------------------------------------------------------

    def show_network(self, label: str) -> None:
        """The network the app will open (before the runtime is ready)."""
        self.query_one(StatusHeader).network = label

    def on_backend_progress(self, message: BackendProgress) -> None:
        header = self.query_one(StatusHeader)
        header.status = message.text
        header.status_ok = None

    def on_backend_ready(self, message: BackendReady) -> None:
        header = self.query_one(StatusHeader)
        header.network = message.network
        header.address = message.address
        header.status = f"ready · {message.gateway}"
        header.status_ok = True

    def on_backend_failed(self, message: BackendFailed) -> None:
        header = self.query_one(StatusHeader)
        header.status = "offline"
        header.status_ok = False
        notice = ErrorNotice(message.text, message.hint)
        self.run_worker(self._conversation.add(notice), group="ui")

    def on_wallet_updated(self, message: WalletUpdated) -> None:
        self.query_one(StatusHeader).wallet = message.wallet

    def on_receipt_added(self, message: ReceiptAdded) -> None:
        self.query_one(ReceiptsPanel).add_receipt(message.receipt)

    def on_receipt_updated(self, message: ReceiptUpdated) -> None:
        """A payment settled (or failed): the panel's row and the answer's own footer follow."""
        self.query_one(ReceiptsPanel).update_receipt(message.receipt_id, message.fields)
        shown = self._footers.get(message.receipt_id)
        if shown is None:
            return
        view, label, result = shown
        receipt = result.receipt
        if receipt is not None and view.is_attached:
            for name, value in message.fields.items():
                if hasattr(receipt, name):
                    setattr(receipt, name, value)
            view.set_meta(turn_stats(label, result))

    @on(ReceiptsPanel.Open)
    def _open_receipt(self, event: ReceiptsPanel.Open) -> None:
        self.app.open_receipt_detail(event.receipt)

    # -- model and mode --------------------------------------------------------

    @on(ModelPicker.Picked)
    def _model_picked(self, event: ModelPicker.Picked) -> None:
        self.app.model = event.model.id
        self.query_one(PromptArea).focus()

    def _model_changed(self, model: str) -> None:
        """The App's model changed (picker, F3, config, resume): the chat and the title follow."""
        self.chat.model = model
        self.query_one(ModelPicker).selected = model
        self.query_one(ModelBar).model = model
        self._conversation.border_title = self._title()

    def _mode_changed(self, mode: str) -> None:
        self.query_one(StatusHeader).mode = mode
        self.chat.mode = mode
        self._conversation.border_title = self._title()

    def action_focus_models(self) -> None:
        if self.has_class("-sidebar"):
            self.query_one(ModelPicker).focus_filter()
        else:
            self.app.push_screen(ModelPickerScreen())

    @on(ModelBar.Open)
    def _open_models(self) -> None:
        self.action_focus_models()

    def action_next_provider(self) -> None:
        self.app.model = step_provider(resolve_model(self.chat.model), 1).id

    def action_previous_provider(self) -> None:
        self.app.model = step_provider(resolve_model(self.chat.model), -1).id

    def action_cycle_mode(self) -> None:
        mode = self.app.mode
        index = MODES.index(mode) if mode in MODES else 0
        self.app.mode = MODES[(index + 1) % len(MODES)]
        self.notify(f"settlement mode: {self.app.mode}", timeout=2)

    def restore_draft(self, draft: str) -> None:
        """Put the saved draft back, unless the user already started typing."""
        prompt = self.query_one(PromptArea)
        if draft and not prompt.text:
            prompt.load_text(draft)
            prompt.move_cursor(prompt.document.end)

    def action_toggle_tools(self) -> None:
        self.tools_enabled = not self.tools_enabled
        self.notify(f"built-in tools {'on' if self.tools_enabled else 'off'}", timeout=2)

    # -- scrolling -------------------------------------------------------------

    @property
    def _conversation(self) -> Conversation:
        return self.query_one("#conversation", Conversation)

    def action_scroll_page(self, direction: int) -> None:
        conversation = self._conversation
        if direction < 0:
            conversation.release_anchor()
            conversation.scroll_page_up()
        else:
            conversation.scroll_page_down()

    # -- drafts ----------------------------------------------------------------

    @on(PromptArea.DraftChanged)
    def _draft_changed(self, event: PromptArea.DraftChanged) -> None:
        if self._draft_timer is not None:
            self._draft_timer.stop()
        text = event.text
        self._draft_timer = self.set_timer(0.5, lambda: self.app.save_draft(text))
        if not text:
            self.editing = None  # an emptied prompt edits nothing any more

    # -- sending ---------------------------------------------------------------

    @on(PromptArea.Submitted)
    async def _submitted(self, event: PromptArea.Submitted) -> None:
        await self.send(event.text)
        event.prompt.clear()
        self.app.save_draft("")

    async def send(self, text: str) -> None:
        """Show the prompt and start the turn (which waits for the runtime if it is starting)."""
        if self._turn_running():
            self.notify("An answer is still streaming; Escape stops it.", severity="warning")
            return
        self.history.reset()
        if self.editing is not None:
            self.chat.supersede_from(self.editing)
            self._conversation.supersede_tail(with_prompt=True)
            await self._conversation.add(Notice("✎ edited: the exchange above is kept, not sent"))
            self.editing = None
        self.chat.add({"role": "user", "content": text})
        await self._conversation.add(UserMessage(text))
        self._conversation.border_title = self._title()
        self.run_turn()

    def _turn_running(self) -> bool:
        return self.running("llm")

    def action_stop(self) -> None:
        if not self.stop_workers("llm"):
            self.query_one(PromptArea).focus()

    @background("Streaming an answer", group="llm", exclusive=True)
    async def run_turn(self) -> None:
        """Stream the answer; run any tool calls and stream again until the model is done."""
        app = self.app
        if not app.backend.ready:
            waiting = Notice("waiting for the wallet and gateway to start…")
            await self._conversation.add(waiting)
            await app.wait_for_backend()
            await waiting.remove()
        try:
            for _round in range(MAX_TOOL_ROUNDS + 1):
                result = await self._stream_answer()
                if result.stopped or not result.tool_calls:
                    break
                await self._run_tools(result.tool_calls)
            else:
                await self._conversation.add(
                    Notice(f"stopped after {MAX_TOOL_ROUNDS} rounds of tool calls")
                )
        except OGError as error:
            await self._conversation.add(ErrorNotice.of(error))
        finally:
            app.save_session(self.chat)

    async def _stream_answer(self) -> TurnResult:
        """One paid, streamed call; the answer is shown as it arrives."""
        model = self.chat.model
        info = CATALOGUE.get(model)
        label = info.display_name if info else model
        view = AssistantMessage(label)
        conversation = self._conversation
        await conversation.add(view)
        conversation.anchor()
        stream = ThrottledStream(view.body)
        pieces: list[str] = []
        result = TurnResult()
        offer_tools = self.tools_enabled and (info is None or info.tools)
        started = time.monotonic()
        view.set_meta(f"{label} · waiting for the first token…")
        try:
            async for chunk in self.app.backend.opened.stream_chat(
                model,
                self.chat.wire_messages(),
                mode=self.app.mode,
                tools=TOOL_SCHEMAS if offer_tools else None,
                conversation_id=self.chat.id,
                max_tokens=self.chat.max_tokens,
                temperature=self.chat.temperature,
                system_prompt=self.chat.system_prompt,
            ):
                for choice in chunk.choices:
                    delta = choice.delta
                    if delta.content:
                        if result.first_token is None:
                            result.first_token = time.monotonic() - started
                            view.set_meta(f"{label} · streaming…")
                        pieces.append(delta.content)
                        await stream.write(delta.content)
                    if delta.tool_calls:
                        if result.first_token is None:
                            result.first_token = time.monotonic() - started
                            view.set_meta(f"{label} · calling a tool…")
                        result.add_tool_calls(delta.tool_calls, final=chunk.is_final)
                if chunk.usage is not None:
                    result.completion_tokens = chunk.usage.completion_tokens
                if chunk.images:
                    result.images = list(chunk.images)
                if chunk.receipt is not None:
                    result.receipt = chunk.receipt
                    self.chat.receipt_ids.append(chunk.receipt.id)
                    self.post_message(ReceiptAdded(chunk.receipt))
        except asyncio.CancelledError:
            result.stopped = True
            raise
        except StreamInterrupted as error:
            if error.partial_text and not pieces:
                pieces.append(error.partial_text)
            raise
        finally:
            result.elapsed = time.monotonic() - started
            result.text = "".join(pieces)
            await stream.stop()  # ends with one whole render of the tail: fences close
            view.text = result.text
            view.set_meta(turn_stats(label, result))
            if result.images:
                await view.show_images(self._images(result.images))
            if result.receipt is not None:
                self._footers[result.receipt.id] = (view, label, result)
            self._record_answer(result)
            if result.stopped:
                conversation.release_anchor()
        return result

    def _record_answer(self, result: TurnResult) -> None:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": result.text or None,
            "model": self.chat.model,
        }
        if result.receipt is not None:
            message["receipt_id"] = result.receipt.id
        if result.stopped:
            message["partial"] = True
        if result.tool_calls and not result.stopped:
            message["tool_calls"] = result.tool_calls
        if result.images:
            message["images"] = result.images
        if message["content"] is None and "tool_calls" not in message and not result.images:
            return
        self.chat.add(message)

    async def _run_tools(self, calls: list[dict[str, Any]]) -> None:
        """Show each call, run it, and queue its result for the next request."""
        backend = self.app.backend
        context = ToolContext(devnet_url=backend.devnet_url, network=backend.network)
        for call in calls:
            function = call.get("function") or {}
            name = str(function.get("name") or "")
            card = ToolCallCard(name, function.get("arguments") or "{}")
            await self._conversation.add(card)
            outcome = await execute(
                name, function.get("arguments"), call_id=str(call.get("id")), context=context
            )
            card.set_result(outcome.content, outcome.ok)
            self.chat.add(tool_message(outcome))

    # -- chats -----------------------------------------------------------------

    async def action_new_chat(self) -> None:
        """Start a new conversation; when the config has personas, offer them first."""
        personas = self.app.local.personas
        if personas:
            self.app.push_screen(PersonaPicker(personas), self._persona_picked)
        else:
            await self.start_chat(None)

    async def _persona_picked(self, persona: str | None) -> None:
        if persona is not None:  # None: cancelled; "": no persona
            await self.start_chat(persona or None)

    async def start_chat(self, persona: str | None) -> None:
        """Save this conversation and start a new one, with `persona`'s settings if given."""
        self.workers.cancel_group(self, "llm")
        self.app.save_session(self.chat)
        chat = ChatState(model=self.chat.model)
        if persona:
            try:
                self.app.local.with_persona(chat, persona, self.app.mode)
            except OGError as error:  # the config changed since the persona was offered
                self.notify(error_message(error), title="Persona not applied", severity="error")
        self._forget_shown(chat)
        await self._conversation.clear()
        self._follow_chat_settings()
        self.query_one(PromptArea).focus()

    def _forget_shown(self, chat: ChatState) -> None:
        """Make `chat` the one shown: no edit, history walk, message map or footers of the
        last one."""
        self.chat = chat
        self._footers.clear()
        self.editing = None
        self.history.reset()
        self._older_prompts = None
        self._message_widgets = {}

    def _follow_chat_settings(self) -> None:
        """The App's model and mode, and the title, follow the conversation's settings."""
        if self.chat.model in CATALOGUE:
            self.app.model = self.chat.model
        if self.chat.mode:
            self.app.mode = self.chat.mode
        self._conversation.border_title = self._title()

    async def show_chat(self, chat: ChatState, *, at: int | None = None) -> None:
        """Replace the transcript with a saved conversation (resume); `at`: scroll to that
        message and highlight it (a search result)."""
        self.workers.cancel_group(self, "llm")
        self.app.save_session(self.chat)
        self._forget_shown(chat)
        conversation = self._conversation
        history = saved_history(chat.messages, chat.model, self._images)
        self._message_widgets = history.shown
        start = history.start_of(at) if at is not None else None
        batch = (
            HISTORY_BATCH if start is None else max(HISTORY_BATCH, len(history.builders) - start)
        )
        await conversation.show_history(history.builders, batch)
        await conversation.add(Notice(f"resumed “{chat.title}”"))
        self._follow_chat_settings()
        found = self._message_widgets.get(at) if at is not None else None
        if found is not None:
            self.call_after_refresh(conversation.show_found, found)
        else:
            conversation.scroll_end(animate=False)

    # -- settings, history, retry, images ---------------------------------------

    def action_chat_settings(self, focus: str = "") -> None:
        """The settings panel of this conversation (`focus`: the field to start in)."""
        screen = ChatSettingsScreen(self.chat, self.app.mode, focus)
        self.app.push_screen(screen, self._settings_chosen)

    def _settings_chosen(self, saved: bool | None) -> None:
        if not saved:
            return
        self._follow_chat_settings()
        self.app.save_session(self.chat)

    def _earlier_prompts(self) -> list[str]:
        """Up/down's entries: this conversation's prompts, then older conversations'."""
        if self._older_prompts is None:
            self._older_prompts = self.app.local.older_prompts(self.chat.id)
        return self.chat.prompts() + self._older_prompts

    def action_edit_last_prompt(self) -> None:
        """Put the last prompt back in the prompt; sending it replaces the last exchange."""
        index = self.chat.last_prompt_index()
        if index is None or self._turn_running():
            why = "No prompt to edit yet." if index is None else "An answer is still streaming."
            self.notify(why, severity="warning")
            return
        prompt = self.query_one(PromptArea)
        prompt.load_text(str(self.chat.messages[index].get("content") or ""))
        prompt.move_cursor(prompt.document.end)
        prompt.focus()
        self.editing = index
        self.notify(
            "Editing your last prompt: sending it replaces the last exchange "
            "(which is kept, marked superseded).",
            timeout=4,
        )

    async def action_regenerate(self) -> None:
        """A new paid call for the last prompt; the earlier answer stays, superseded."""
        index = self.chat.last_prompt_index()
        if index is None or self._turn_running():
            why = "No answer to regenerate yet." if index is None else "An answer is streaming."
            self.notify(why, severity="warning")
            return
        if index + 1 < len(self.chat.messages):
            self.chat.supersede_from(index + 1)
            self._conversation.supersede_tail(with_prompt=False)
            await self._conversation.add(
                Notice("↻ regenerated: the answer above is kept, not sent")
            )
        self.run_turn()

    def _images(self, uris: list[str]) -> InlineImages:
        """An answer's images, captioned with the keys that save them."""
        return InlineImages(uris, keys_of("chat.save_image", self.app.local.keymap))

    def action_save_image(self) -> None:
        """Write the images of the last answer that has some to new files."""
        images = next((m["images"] for m in reversed(self.chat.messages) if m.get("images")), None)
        if not images:
            self.notify("No answer with an image yet.", severity="warning")
            return
        try:
            paths = self.app.local.save_images(list(images))
        except (OGError, OSError) as error:
            self.notify(error_message(error), title="Image not saved", severity="error")
            return
        self.notify("Saved to " + ", ".join(str(path) for path in paths), timeout=8)

    def renamed(self, session_id: str, title: str) -> None:
        """The sessions screen renamed a conversation; the next save must not undo it."""
        if self.chat.id == session_id:
            self.chat.title = title
            self._conversation.border_title = self._title()

    # -- copying ---------------------------------------------------------------

    def _last_answer_text(self) -> str | None:
        for message in reversed(self.chat.messages):
            if message.get("role") == "assistant" and message.get("content"):
                return str(message["content"])
        return None

    def action_copy_answer(self) -> None:
        text = self._last_answer_text()
        if text is None:
            self.notify("No answer to copy yet.", severity="warning")
            return
        self.app.copy_text(text, what="the last answer")

    def action_copy_code(self) -> None:
        text = self._last_answer_text()
        blocks = code_blocks(text or "")
        if not blocks:
            self.notify("The last answer has no code block.", severity="warning")
            return
        self.app.push_screen(CodeBlocksScreen(blocks))

    def action_save_answer(self) -> None:
        text = self._last_answer_text()
        if text is None:
            self.notify("No answer to save yet.", severity="warning")
            return
        path: Path = self.app.write_export("answer", ".md", text)
        self.notify(f"Saved to {path}", timeout=6)
