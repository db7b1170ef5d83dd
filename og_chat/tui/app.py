"""The og-chat Textual app: one App owning settings, theme, keymap and the backend.

Importing this module loads Textual and og-chat's light modules only; the
runtime (web3, the devnet) is imported in a worker after the first frame.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from pathlib import Path, PurePath
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from og_chat.app.sanitize import neutralize

from .backend import Backend, LocalState
from .chat import ChatState
from .messages import (
    BackendFailed,
    BackendProgress,
    BackendReady,
    ReceiptUpdated,
    SettingsChanged,
    WalletUpdated,
)
from .screens.main import MainScreen

_HERE = Path(__file__).parent
DEFAULT_MODEL = "anthropic/claude-haiku-4-5"
DEFAULT_THEME = "opengradient"


class OGChatApp(App[None]):
    """og-chat's TUI."""

    CSS_PATH: ClassVar[list[str | PurePath]] = [
        _HERE / "app.tcss",
        _HERE / "screens" / "main.tcss",
        _HERE / "screens" / "receipts.tcss",
    ]
    """Absolute, so subclasses elsewhere (tests, scripts) find it. main.tcss is here
    because the default screen is installed, not pushed, and so loads no CSS_PATH;
    receipts.tcss because a screen's CSS first read on push makes Textual re-parse
    the whole stylesheet and restyle every widget of the app (~0.1 s on the first
    ctrl+r); read up front it costs a few milliseconds of parsing at start."""
    TITLE = "og-chat"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+q",
            "quit",
            "Quit",
            id="quit",
            priority=True,
            tooltip="Quit og-chat (the draft and the conversation are saved).",
        ),
        Binding(
            "ctrl+p",
            "command_palette",
            "Commands",
            id="app.palette",
            priority=True,
            tooltip="Search and run any action.",
        ),
    ]

    def __init__(
        self,
        *,
        network: str | None = None,
        model: str | None = None,
        devnet_url: str | None = None,
        mode: str | None = None,
        local: LocalState | None = None,
        start_backend: bool = True,
    ) -> None:
        super().__init__()
        self.start_backend = start_backend
        """False for layout tests and snapshots: paint without opening the runtime."""
        self.local = local or LocalState(None)
        """Config, drafts, sessions; read in a thread after the first frame (pydantic is slow
        to import), so until `local_ready` it holds defaults."""
        self.local_ready = local is not None
        self._flags = {"network": network, "model": model, "mode": mode}
        self.requested_network = network or "devnet"
        self.model = self._valid_model(model)
        self.mode = mode or "batch"
        self.backend = Backend(network=network, devnet_url=devnet_url, mode=mode)
        self._backend_done = asyncio.Event()
        self._backend_error: str | None = None
        self.main_screen: MainScreen | None = None

    @staticmethod
    def _valid_model(model: str | None) -> str:
        from og_chat.sdk.models import CATALOGUE, resolve_model

        if not model:
            return DEFAULT_MODEL
        if model in CATALOGUE:
            return model
        try:
            return resolve_model(model).id
        except ValueError:
            return DEFAULT_MODEL

    def get_default_screen(self) -> Screen[Any]:
        self.main_screen = MainScreen(model=self.model, mode=self.mode)
        return self.main_screen

    def on_mount(self) -> None:
        from .themes import BUNDLED_THEMES, load_themes

        themes, _ = load_themes([BUNDLED_THEMES])
        for theme in themes:
            self.register_theme(theme)
        if self.local_ready:
            self._apply_local(self.local, self.local.load_draft())
        else:
            self.load_local()

    @work(
        thread=True,
        exclusive=True,
        group="local",
        exit_on_error=False,
        description="Reading the config",
    )
    def load_local(self) -> None:
        """Read config and draft off the event loop, then apply them."""
        local = LocalState.load()
        draft = local.load_draft()
        self.call_from_thread(self._apply_local, local, draft)

    def _apply_local(self, local: LocalState, draft: str) -> None:
        """Theme, keymap, model, mode and draft from the config; then open the runtime."""
        from .themes import load_themes

        if self.main_screen is not None and not self.main_screen.is_mounted:
            self.call_after_refresh(self._apply_local, local, draft)  # read before the first frame
            return
        self.local = local
        themes, problems = load_themes([local.themes_dir])
        for theme in themes:
            self.register_theme(theme)
        for problem in problems:
            self.notify(neutralize(problem), title="theme file skipped", severity="warning")
        wanted = local.theme or DEFAULT_THEME
        self.theme = wanted if wanted in self.available_themes else DEFAULT_THEME
        self.local_ready = True
        self.apply_keymap(local.keymap)
        main = self.main_screen
        if not self._flags["network"] and local.network:
            self.requested_network = local.network
        if not self._flags["model"] and local.model:
            self.model = self._valid_model(local.model)
            if main is not None:
                main.set_model(self.model)
        if not self._flags["mode"] and local.mode:
            self.mode = local.mode
            if main is not None:
                main.set_mode(self.mode)
        if main is not None:
            main.restore_draft(draft)
        self.backend.config = local.config
        if self.start_backend:
            self.open_backend()

    def apply_keymap(self, keymap: dict[str, str]) -> None:
        """Remap bindings by id (the config's `[keymap]` table)."""
        if keymap:
            self.set_keymap(dict(keymap))

    def watch_theme(self, theme: str) -> None:
        if self.local_ready and self.local.theme != theme:
            self.local.set_theme(theme)

    # -- backend ---------------------------------------------------------------

    def _to_main(self, message: Any) -> None:
        if self.main_screen is not None:
            self.main_screen.post_message(message)

    @work(exclusive=True, group="runtime", exit_on_error=False, description="Opening the runtime")
    async def open_backend(self) -> None:
        """Open the runtime (starting the devnet if no key is set) without blocking the UI."""
        self._to_main(BackendProgress("starting wallet and gateway…"))
        try:
            await self.backend.open(on_progress=lambda text: self._to_main(BackendProgress(text)))
        except Exception as error:
            self._backend_error = f"could not start: {error}"
            self._to_main(BackendFailed(self._backend_error))
            raise
        finally:
            self._backend_done.set()
        backend = self.backend
        self._to_main(BackendReady(backend.network, backend.address, backend.gateway))
        backend.start_settlement_tracker(
            lambda receipt_id, fields: self.post_message(ReceiptUpdated(receipt_id, dict(fields)))
        )
        self.refresh_wallet()

    async def wait_for_backend(self) -> None:
        """Wait until the runtime is open; raise if it failed to open."""
        await self._backend_done.wait()
        if not self.backend.ready:
            from og_chat.sdk.errors import ConfigurationError

            raise ConfigurationError(
                self._backend_error or "the runtime is not available",
                hint="check the network settings (F9) and restart og-chat",
            )

    @work(exclusive=True, group="wallet", exit_on_error=False, description="Reading balances")
    async def refresh_wallet(self) -> None:
        """Read balances and allowance for the header and the wallet screen."""
        wallet = await self.backend.wallet()
        self._to_main(WalletUpdated(wallet))
        for screen in self.screen_stack:
            if screen is not self.main_screen:
                screen.post_message(WalletUpdated(wallet))

    @on(ReceiptUpdated)
    def _receipt_updated(self, message: ReceiptUpdated) -> None:
        """Every open screen that lists receipts (the chat's panel, the browser) repaints it."""
        for screen in self.screen_stack:
            screen.post_message(ReceiptUpdated(message.receipt_id, message.fields))

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

    def remember_model(self, model: str) -> None:
        """The model new chats and compare start from (not written to the config file)."""
        self.model = model

    def save_draft(self, text: str) -> None:
        """Keep the prompt across restarts."""
        self.local.save_draft(text)

    def save_session(self, chat: ChatState) -> None:
        """Persist the conversation (nothing to save for an empty one)."""
        if chat.messages:
            mode = self.main_screen.mode if self.main_screen else self.mode
            self.local.save_session(chat, mode)

    def copy_text(self, text: str, *, what: str) -> None:
        """Copy via OSC 52 and say honestly that it may not have reached the system clipboard."""
        self.copy_to_clipboard(text)
        self.notify(
            f"Sent {what} to the terminal clipboard (OSC 52). Not every terminal passes it on: "
            "if pasting fails, use “Save … to file” (alt+s, or w in the code picker).",
            title="Copied",
            timeout=6,
        )

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

    # -- screens ---------------------------------------------------------------

    def action_open_sessions(self) -> None:
        from .screens.sessions import SessionsScreen

        self.push_screen(SessionsScreen())

    def action_open_receipts(self) -> None:
        from .screens.receipts import ReceiptsBrowser

        self.push_screen(ReceiptsBrowser())

    def open_receipt_detail(self, receipt: Any) -> None:
        """Show every field of a receipt, with re-verify."""
        from .screens.receipts import ReceiptDetail

        self.push_screen(ReceiptDetail(receipt))

    def action_open_wallet(self) -> None:
        from .screens.wallet import WalletScreen

        self.push_screen(WalletScreen())

    def action_open_settings(self) -> None:
        from .screens.settings import SettingsScreen

        self.push_screen(SettingsScreen())

    def action_open_compare(self) -> None:
        from .screens.compare import CompareScreen

        model = self.main_screen.chat.model if self.main_screen else self.model
        mode = self.main_screen.mode if self.main_screen else self.mode
        self.push_screen(CompareScreen(model, mode))

    async def resume(self, chat: ChatState) -> None:
        """Show a saved conversation on the main screen."""
        if self.main_screen is not None:
            await self.main_screen.show_chat(chat)

    def on_settings_changed(self, message: SettingsChanged) -> None:
        self.local.reload()
        self.apply_keymap(self.local.keymap)

    # -- command palette ------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        main = self.main_screen
        if main is None:
            return
        for binding in MainScreen.BINDINGS:
            assert isinstance(binding, Binding)
            if binding.id and binding.id.startswith("conversation."):
                continue
            yield SystemCommand(
                binding.description,
                binding.tooltip,
                lambda action=binding.action: self.call_later(main.run_action, action),
            )


def _binding_classes() -> list[type[Any]]:
    from .screens.code_blocks import CodeBlocksScreen
    from .screens.compare import CompareScreen
    from .screens.receipts import ReceiptDetail, ReceiptsBrowser
    from .screens.sessions import SessionsScreen
    from .screens.settings import SettingsScreen
    from .screens.wallet import WalletScreen
    from .widgets.conversation import Conversation
    from .widgets.model_picker import ModelPicker
    from .widgets.prompt import PromptArea

    return [
        OGChatApp,
        MainScreen,
        PromptArea,
        Conversation,
        ModelPicker,
        CodeBlocksScreen,
        SessionsScreen,
        ReceiptsBrowser,
        ReceiptDetail,
        WalletScreen,
        SettingsScreen,
        CompareScreen,
    ]


def keybinding_table(keymap: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    """Every remappable binding as `(id, keys, description)`, with `keymap` applied.

    The README's key table and the settings screen are generated from this.
    """
    keymap = keymap or {}
    rows: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for cls in _binding_classes():
        bindings: list[BindingType] = list(cls.__dict__.get("BINDINGS", []))
        for binding in bindings:
            if not isinstance(binding, Binding) or not binding.id or binding.id in seen:
                continue
            seen.add(binding.id)
            keys = keymap.get(binding.id, binding.key)
            rows.append((binding.id, keys, binding.tooltip or binding.description))
    return rows


def run(
    network: str | None = None,
    model: str | None = None,
    devnet_url: str | None = None,
    mode: str | None = None,
    private_key: str | None = None,
) -> None:
    """Run the TUI until the user quits (`og-chat` with no subcommand).

    `private_key` comes from the keystore, unlocked by the CLI before the screen
    takes over the terminal; None means `OG_PRIVATE_KEY`, else the devnet.
    """
    app = OGChatApp(network=network, model=model, devnet_url=devnet_url, mode=mode)
    app.backend.set_private_key(private_key)
    app.run()
