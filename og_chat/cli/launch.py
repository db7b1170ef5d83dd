"""`og-chat` and `og-chat chat`: open the TUI, asking a wallet's passphrase first.

With no wallet anywhere (no `OG_PRIVATE_KEY`, no keystore: a new user, or a served page on
the devnet) there is no passphrase to ask before the screen and no key to guard, so the
TUI starts at once and reads the config itself after its first frame: this path imports
neither pydantic nor the runtime. With a wallet, or `--trust-devnet` to check,
`chat.cmd_chat` reads the config, decides whose key pays and asks the passphrase on the
terminal before the TUI takes it.
"""

from __future__ import annotations

import argparse

from og_chat.app import network
from og_chat.sdk.models import resolve_model
from og_chat.sdk.network_choice import NetworkRequest
from og_chat.sdk.types import settlement_mode

from . import dispatch
from .output import EXIT_OK

WITH_WALLET = "chat:cmd_chat"


def tui_choices(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """The model id and settlement mode the command line names (None: the config's)."""
    model = resolve_model(args.model).id if getattr(args, "model", None) else None
    mode = settlement_mode(args.mode).value if getattr(args, "mode", None) else None
    return model, mode


def cmd_launch(args: argparse.Namespace) -> int:
    """Open the TUI (Textual is imported only here: every other command starts without it)."""
    if network.has_wallet() or getattr(args, "trust_devnet", False):
        return dispatch.run(WITH_WALLET, args)
    from og_chat.tui.app import run as run_tui

    model, mode = tui_choices(args)
    request = NetworkRequest(getattr(args, "network", None), getattr(args, "devnet_url", None))
    devnet = getattr(args, "devnet_process", None)  # spawned by `main`, loading meanwhile
    run_tui(request, model=model, mode=mode, private_key=None, devnet_process=devnet)
    return EXIT_OK
