"""`og-chat wallet create|import|address|balance`: the key, encrypted at rest, never printed.

Passphrases and keys are read without echo (`getpass`) or from a pipe, never from
argv; only addresses are shown.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from og_chat.app.runtime import Runtime
from og_chat.sdk.errors import ConfigurationError
from og_chat.sdk.opg import opg_display
from og_chat.store import keystore

from .connect import with_runtime
from .output import EXIT_OK, note, out, out_json, progress


def cmd_create(args: argparse.Namespace) -> int:
    """A new random key, encrypted at rest; only its address is shown."""
    passphrase = keystore.prompt_passphrase(confirm=True)
    with progress("encrypting the new key (scrypt)…"):
        address = keystore.create_keystore(passphrase, scrypt_n=keystore.SCRYPT_N)
    out(address)
    note(f"wallet created; keystore at {keystore.keystore_path()}. Fund it with OPG on Base.")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    """Encrypt an existing key: read from a hidden prompt, or from stdin when piped; never argv."""
    if sys.stdin.isatty():
        secret = getpass.getpass("Private key (hidden): ")
    else:
        secret = sys.stdin.readline()
    passphrase = keystore.prompt_passphrase(confirm=True)
    with progress("encrypting the key (scrypt)…"):
        address = keystore.import_key(secret.strip(), passphrase, scrypt_n=keystore.SCRYPT_N)
    del secret
    out(address)
    note(f"key imported; keystore at {keystore.keystore_path()}")
    return EXIT_OK


def cmd_address(args: argparse.Namespace) -> int:
    """The address of OG_PRIVATE_KEY, else of the keystore (no passphrase needed)."""
    address = keystore.env_address() or keystore.keystore_address()
    if address is None:
        raise ConfigurationError(
            "no wallet configured (the devnet then pays from its dev account 0)",
            hint="create one with `og-chat wallet create`, import one, or set OG_PRIVATE_KEY",
        )
    out(address)
    return EXIT_OK


@with_runtime(top_up=False)
async def cmd_balance(args: argparse.Namespace, runtime: Runtime) -> int:
    """OPG, Permit2 allowance and ETH of the paying wallet on its network."""
    with progress("reading balances…"):
        status = await runtime.wallet()
    if args.json:
        out_json(
            {
                "network": status.network,
                "address": status.address,
                "opg": str(status.opg),
                "allowance": str(status.allowance),
                "eth": str(status.eth),
            },
            indent=None,
        )
        return EXIT_OK
    out(f"network    {status.network}")
    out(f"address    {status.address}")
    out(f"OPG        {opg_display(status.opg, base_units=True)}")
    out(f"allowance  {opg_display(status.allowance, base_units=True)} (Permit2)")
    out(f"ETH        {opg_display(status.eth, base_units=True)}")
    return EXIT_OK
