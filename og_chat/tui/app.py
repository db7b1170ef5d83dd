"""The og-chat Textual app: one App owning settings, theme, keymap and the backend.

Importing this module loads Textual and og-chat's light modules only; the config
(pydantic) and the runtime (web3, the devnet) are imported in threads after the
first frame (`deferred.py`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on
from textual.app import App, SystemCommand
from textual.binding import BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from og_chat.app.sanitize import neutralize
from og_chat.sdk.devnet_process import DevnetProcess
from og_chat.sdk.errors import ConfigurationError, OGError
from og_chat.sdk.models import CATALOGUE, resolve_model
from og_chat.sdk.network_choice import NetworkRequest
from og_chat.sdk.types import PaymentStatus, Receipt
from og_chat.store import config_defaults

from . import deferred
from .backend import Backend
from .chat import ChatState
from .clipboard import ClipboardTool, copy_with_tool, find_tool
from .keymap import bindings, keys_on
from .messages import (
    BackendFailed,
    BackendProgress,
    BackendReady,
    ReceiptAdded,
    ReceiptUpdated,
    SettingsChanged,
    WalletUpdated,
)
from .screens.chat_settings import palette_commands
from .screens.compare import CompareScreen
from .screens.dialogs import Confirm
from .screens.main import MainScreen
from .screens.receipts import ReceiptDetail, ReceiptsBrowser
from .screens.search import SearchScreen
from .screens.sessions import SessionsScreen
from .screens.settings import SettingsScreen
from .screens.wallet import WalletScreen
from .terminal_keys import claims_key, reported_key
from .themes import BUNDLED_THEMES, load_themes
from .widgets.conversation import error_message
from .workers import background

if TYPE_CHECKING:
    from .host import Host
    from .local import LocalState

_HERE = Path(__file__).parent
DEFAULT_MODEL = config_defaults.MODEL
"""What the first frame shows until the config (whose default is the same) is read."""
DEFAULT_MODE = config_defaults.SETTLEMENT_MODE
"""Likewise for the settlement mode, and for the theme."""
DEFAULT_THEME = config_defaults.THEME
RESTART_HINT = "check the network settings (F9) and restart og-chat"
"""What to do when the runtime failed to open for a reason that carries no hint."""


def valid_model(model: str | None) -> str:
    """A catalogue id for `model` (full id, bare name or alias), else the default model."""
    if not model:
        return DEFAULT_MODEL
    if model in CATALOGUE:
        return model
    try:
        return resolve_model(model).id
    except ValueError:
        return DEFAULT_MODEL


@dataclass(frozen=True, slots=True)
class Choices:
    """What the command line, or the user before the config arrived, asked for; the config
    fills in only what they left open."""

    network: str | None = None
    model: str | None = None
    mode: str | None = None


class OGChatApp(App[None]):
    """og-chat's TUI."""

    CSS_PATH: ClassVar[list[str | PurePath]] = [
        _HERE / "app.tcss",
        _HERE / "screens" / "main.tcss",
        _HERE / "screens" / "receipts.tcss",
        _HERE / "screens" / "transcript_marks.tcss",
    ]
    """Absolute, so subclasses elsewhere (tests, scripts) find it. main.tcss is here
    because the default screen is installed, not pushed, and so loads no CSS_PATH;
    receipts.tcss because a screen's CSS first read on push makes Textual re-parse
    the whole stylesheet and restyle every widget of the app (~0.1 s on the first
    ctrl+r); read up front it costs a few milliseconds of parsing at start."""
    TITLE = "og-chat"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS: ClassVar[list[BindingType]] = bindings("app")

    model: reactive[str] = reactive(DEFAULT_MODEL, init=False)
    """The model the next call goes to; the picker, the chat title and compare follow it."""
    mode: reactive[str] = reactive(DEFAULT_MODE, init=False)
    """The settlement mode of the next call; the header shows it and sessions record it."""

    def __init__(
        self,
        request: NetworkRequest = NetworkRequest(),
        *,
        model: str | None = None,
        mode: str | None = None,
        local: LocalState | None = None,
        start_backend: bool = True,
    ) -> None:
        super().__init__()
        self.start_backend = start_backend
        """False for layout tests and snapshots: paint without opening the runtime."""
        network = request.network
        self.choices = Choices(network=network, model=model, mode=mode)
        self._local = local
        self.local_ready = local is not None
        """True once the config is read and applied (theme, keymap, model, mode, draft)."""
        self.requested_network = network or "devnet"
        """The header's network label: the flag until the config is read, then the choice's."""
        self.set_reactive(OGChatApp.model, valid_model(model))
        self.set_reactive(OGChatApp.mode, mode or DEFAULT_MODE)
        self.backend = Backend(request)
        self._backend_done = asyncio.Event()
        self._backend_failure: BackendFailed | None = None
        self.main_screen: MainScreen | None = None

    @property
    def local(self) -> LocalState:
        """Config, drafts, sessions: read in a thread after the first frame (pydantic is slow
        to import), or here on first use if a screen needs them sooner."""
        if self._local is None:
            self._local = deferred.local_state().load()
        return self._local

    def get_default_screen(self) -> Screen[Any]:
        self.main_screen = MainScreen()
        return self.main_screen

    def on_mount(self) -> None:
        themes, _ = load_themes([BUNDLED_THEMES])
        for theme in themes:
            self.register_theme(theme)
        if self.start_backend:  # at once: the devnet boots while the config is read
            self.open_backend()
        if self._local is not None:
            self._apply_local(self._local, self._local.load_draft())
        else:
            self.theme = DEFAULT_THEME  # the config's default, until the config is read
            self.load_local()

    @background("Reading the config", group="local", exclusive=True, thread=True)
    def load_local(self) -> None:
        """Read config and draft off the event loop, then apply them."""
        local = deferred.local_state().load()
        draft = local.load_draft()
        self.call_from_thread(self._apply_local, local, draft)

    def _apply_local(self, local: LocalState, draft: str) -> None:
        """Theme, keymap, model, mode and draft from the config (the runtime reads its own)."""
        if self.main_screen is not None and not self.main_screen.is_mounted:
            self.call_after_refresh(self._apply_local, local, draft)  # read before the first frame
            return
        self._local = local
        themes, problems = load_themes([local.themes_dir])
        for theme in themes:
            self.register_theme(theme)
        for problem in problems:
            self.notify(neutralize(problem), title="theme file skipped", severity="warning")
        wanted = local.config.theme or DEFAULT_THEME
        self.theme = wanted if wanted in self.available_themes else DEFAULT_THEME
        self.local_ready = True
        self.apply_keymap(local.keymap)
        choices = self.choices  # the config fills in only what the command line left open
        try:  # the one rule the SDK and the CLI use too
            request = self.backend.request
            choice = local.network_choice(request.network, request.devnet_url)
        except OGError as error:
            self._backend_failure = BackendFailed(f"could not start: {error}", error.hint)
            self._to_main(self._backend_failure)
            self._backend_done.set()
            return
        self.backend.choice = choice
        self.requested_network = choice.label
        if self.main_screen is not None:
            self.main_screen.show_network(choice.label)
        if not choices.model:
            self.model = valid_model(local.config.model)
        if not choices.mode:
            self.mode = local.config.settlement_mode
        if self.main_screen is not None:
            self.main_screen.restore_draft(draft)

    def watch_model(self, model: str) -> None:
        if not self.local_ready:  # picked before the config arrived: the config must not undo it
            self.choices = replace(self.choices, model=model)

    def watch_mode(self, mode: str) -> None:
        if not self.local_ready:
            self.choices = replace(self.choices, mode=mode)

    def apply_keymap(self, keymap: dict[str, str]) -> None:
        """Remap bindings by id (the config's `[keymap]` table)."""
        if keymap:
            self.set_keymap(dict(keymap))

    # -- keys as terminals send them (terminal_keys.py) --------------------------

    async def on_event(self, event: events.Event) -> None:
        """Run a bound alt-key before the focused widget can type its character."""
        if (
            isinstance(event, events.Key)
            and not event.is_forwarded
            and claims_key(event.key, event.character)
            and await self._run_bound_key(event.key)
        ):
            return
        await super().on_event(event)

    async def _run_bound_key(self, key: str) -> bool:
        """Run the binding the focus chain has for `key` (keymap applied); False if none."""
        active = self.screen.active_bindings.get(key)
        if active is None:
            return False
        node, binding, enabled, _tooltip = active
        if enabled:
            await self.run_action(binding.action, node)
        else:
            self.bell()
        return True

    def on_cursor_position(self, event: events.CursorPosition) -> None:
        """`CSI 1;2R` is shift+F3 (og-chat never asks for the cursor position)."""
        key = reported_key(event.x, event.y)
        if key is not None:
            self.simulate_key(key)

    def watch_theme(self, theme: str) -> None:
        if self.local_ready and self.local.config.theme != theme:
            self.local.set_theme(theme)

    # -- backend ---------------------------------------------------------------

    def _to_main(self, message: Message) -> None:
        if self.main_screen is not None:
            self.main_screen.post_message(message)

    @background("Opening the runtime", group="runtime", exclusive=True)
    async def open_backend(self) -> None:
        """Open the runtime (starting the devnet if no key is set) without blocking the UI."""
        self._to_main(BackendProgress("starting wallet and gateway…"))
        try:
            await self.backend.open(
                on_progress=lambda text: self._to_main(BackendProgress(text)),
                confirm=self.confirm,
            )
        except Exception as error:
            hint = error.hint if isinstance(error, OGError) and error.hint else RESTART_HINT
            self._backend_failure = BackendFailed(f"could not start: {error_message(error)}", hint)
            self._to_main(self._backend_failure)
            raise
        finally:
            self._backend_done.set()
        backend = self.backend
        self._to_main(BackendReady(backend.network_label, backend.address, backend.gateway))
        self.refresh_wallet()
        await asyncio.to_thread(deferred.preload_chain)  # while the first call is sent
        backend.start_settlement_tracker(
            lambda receipt_id, fields: self.post_message(ReceiptUpdated(receipt_id, dict(fields)))
        )

    async def confirm(self, question: str) -> bool:
        """Ask yes or no in a dialog (from a worker): before an approval the user must allow."""
        answer = await self.push_screen_wait(Confirm(neutralize(question), yes="Approve"))
        return bool(answer)

    async def wait_for_backend(self) -> None:
        """Wait until the runtime is open; raise if it failed to open."""
        await self._backend_done.wait()
        if not self.backend.ready:
            failure = self._backend_failure
            raise ConfigurationError(
                failure.text if failure else "the runtime is not available",
                hint=failure.hint if failure else RESTART_HINT,
            )

    @background("Reading balances", group="wallet", exclusive=True)
    async def refresh_wallet(self, *, quiet: bool = False) -> None:
        """Read balances and allowance for the header and the wallet screen.

        `quiet`: a read nobody asked for (after a settlement) that fails keeps the last
        balances shown, without a notice each time a flaky RPC misses one.
        """
        try:
            wallet = await self.backend.wallet()
        except OGError:
            if quiet:
                return
            raise
        self._to_main(WalletUpdated(wallet))
        for screen in self.screen_stack:
            if screen is not self.main_screen:
                screen.post_message(WalletUpdated(wallet))

    @on(ReceiptUpdated)
    def _receipt_updated(self, message: ReceiptUpdated) -> None:
        """Every open screen that lists receipts (the chat's panel, the browser) repaints it;
        a settlement moved OPG (and maybe an approval), so the balances are read again."""
        for screen in self.screen_stack:
            screen.post_message(ReceiptUpdated(message.receipt_id, message.fields))
        if message.fields.get("payment_status") == PaymentStatus.SETTLED.value:
            self.refresh_wallet(quiet=True)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """The one place worker errors surface: a notification naming what failed."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        what = event.worker.description or event.worker.name or "background task"
        self.notify(neutralize(str(error)), title=f"{what} failed", severity="error", timeout=10)

    async def on_unmount(self) -> None:
        await self.backend.close()

    # -- state the screens share -----------------------------------------------

    def save_draft(self, text: str) -> None:
        """Keep the prompt across restarts."""
        self.local.save_draft(text)

    def save_session(self, chat: ChatState) -> None:
        """Persist the conversation (nothing to save for an empty one)."""
        if chat.messages:
            self.local.save_session(chat, self.mode)

    def copy_text(self, text: str, *, what: str) -> None:
        """Copy via OSC 52 and, where one exists, a local clipboard tool; say which was used."""
        self.copy_to_clipboard(text)
        tool = find_tool()
        if tool is None:
            self.notify(
                f"Sent {what} to the terminal clipboard (OSC 52); no wl-copy, xclip, xsel or "
                "pbcopy here. Not every terminal passes OSC 52 on: if pasting fails, use "
                "“Save … to file” (alt+s, or w in the code picker).",
                title="Copied (OSC 52)",
                timeout=6,
            )
            return
        self._copy_with(text, what, tool)

    @background("Copying", group="clipboard", thread=True)
    def _copy_with(self, text: str, what: str, tool: ClipboardTool) -> None:
        """Run the clipboard tool off the event loop (it may wait for its display)."""
        if copy_with_tool(text, tool):
            message, title = f"Copied {what} with {tool.name} and OSC 52.", f"Copied ({tool.name})"
        else:
            message = f"{tool.name} failed; sent {what} to the terminal clipboard (OSC 52) only."
            title = "Copied (OSC 52)"
        self.call_from_thread(self.notify, message, title=title, timeout=6)

    def write_export(self, stem: str, suffix: str, text: str) -> Path:
        """Write text to a new file in the exports directory; returns its path."""
        directory = self.local.exports_dir()
        path = directory / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}{suffix}"
        counter = 1
        while path.exists():
            path = directory / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}-{counter}{suffix}"
            counter += 1
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)
        return path

    def show_receipt(self, receipt: Receipt) -> None:
        """Add a new receipt to the chat's receipts panel."""
        self._to_main(ReceiptAdded(receipt))

    # -- screens ---------------------------------------------------------------

    def action_open(self, name: str) -> None:
        """Open one of the App's screens by name (the keymap's `app.open('receipts')`)."""
        self.push_screen(NAMED_SCREENS[name]())

    def open_receipt_detail(self, receipt: Receipt) -> None:
        """Show every field of a receipt, with re-verify."""
        self.push_screen(ReceiptDetail(receipt))

    def action_open_compare(self) -> None:
        model = self.main_screen.chat.model if self.main_screen else self.model
        self.push_screen(CompareScreen(model))

    async def resume(self, chat: ChatState, *, at: int | None = None) -> None:
        """Show a saved conversation on the main screen (scrolled to message `at`, if given)."""
        if self.main_screen is not None:
            await self.main_screen.show_chat(chat, at=at)

    def conversation_renamed(self, session_id: str, title: str) -> None:
        if self.main_screen is not None:
            self.main_screen.renamed(session_id, title)

    def on_settings_changed(self, message: SettingsChanged) -> None:
        self.local.reload()
        self.apply_keymap(self.local.keymap)

    # -- command palette ------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        main = self.main_screen
        if main is None:
            return
        for key in keys_on("chat"):
            if key.palette:
                yield SystemCommand(
                    key.description,
                    key.tooltip,
                    lambda action=key.action: self.call_later(main.run_action, action),
                )
        yield from palette_commands(
            lambda field: self.call_later(main.action_chat_settings, field),
            lambda persona: self.call_later(main.start_chat, persona),
            self.local.personas if self.local_ready else (),
        )


NAMED_SCREENS: dict[str, Callable[[], Screen[Any]]] = {
    "sessions": SessionsScreen,
    "receipts": ReceiptsBrowser,
    "search": SearchScreen,
    "wallet": WalletScreen,
    "settings": SettingsScreen,
}
"""The screens a key opens with `app.open(name)` (keys.toml)."""

if TYPE_CHECKING:
    _HOST: type[Host] = OGChatApp  # mypy checks here that the App is what its screens expect


def run(
    request: NetworkRequest = NetworkRequest(),
    *,
    model: str | None = None,
    mode: str | None = None,
    private_key: str | None = None,
    devnet_process: DevnetProcess | None = None,
) -> None:
    """Run the TUI until the user quits (`og-chat` with no subcommand).

    `private_key` comes from the keystore, unlocked by the CLI before the screen
    takes over the terminal; None means `OG_PRIVATE_KEY` on mainnet, else the
    devnet's test key. `request.trusted_devnets` are the devnets the wallet may pay on
    (`--trust-devnet`; the config's are read by the runtime). `devnet_process`: the
    embedded devnet's child, spawned by the CLI before Textual loaded (`Backend`).
    """
    app = OGChatApp(request, model=model, mode=mode)
    app.backend.set_private_key(private_key)
    app.backend.devnet_process = devnet_process
    app.run()
