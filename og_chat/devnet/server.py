"""Run the devnet: chain, facilitator, TEE key and gateway, in-process or as `og-chat devnet`.

`Devnet.start()` blocks until everything answers, then returns; the gateway
runs on its own thread and event loop and the chain on its worker thread, so
the caller's thread (a test, the TUI, a script) stays free. `stop()` settles
every open session and posts every pending record before it tears anything
down, so no authorized payment is left unsettled and no call without its record.

With `state_dir` (`og-chat devnet --state DIR`, the embedded devnet) the chain,
the TEE key and the unposted records are kept there (state_dir.py) and the
next start resumes them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from og_chat.sdk.addresses import MAINNET_CHAIN_ID
from og_chat.sdk.errors import ConfigurationError
from og_chat.sdk.eth import keccak

from .chain import Chain
from .faults import Faults
from .gateway_config import (
    DEFAULT_BATCH_INTERVAL,
    DEFAULT_BATCH_SIZE,
    DEFAULT_SESSION_CAP,
    DEFAULT_SESSION_IDLE,
    GatewayConfig,
)
from .genesis import DevAccount
from .node import StateMismatch
from .state_dir import StateDir, StateInUse
from .writer import DEFAULT_TOKENS_PER_SECOND, LocalResponder

if TYPE_CHECKING:
    from aiohttp import web
    from rich.status import Status

    from .facilitator import Facilitator
    from .gateway import Gateway
    from .responder import Responder
    from .sessions import SettlementRecord
    from .tee import TeeKeys

__all__ = ["Devnet", "Faults", "add_devnet_arguments", "run_devnet_command"]

T = TypeVar("T")

_PAY_TO_SEED = b"og-chat devnet TEE payment address"
DEFAULT_FUND_OPG = Decimal(1000)
STATE_HELP = (
    "keep the chain, the TEE key and unposted records in DIR (made if missing); resume them"
)
FRESH_HELP = "with --state: delete the kept chain and start over"


def _tee_payment_address() -> str:
    """A fixed address for the TEE's earnings, distinct from every test account."""
    from eth_keys.datatypes import PrivateKey

    return str(PrivateKey(keccak(_PAY_TO_SEED)).public_key.to_checksum_address())


class Devnet:
    """A complete local OpenGradient network; `Devnet.start()` or `with Devnet.start() as d:`."""

    url: str
    chain: Chain
    accounts: list[DevAccount]
    chain_id: int
    gateway: Gateway
    faults: Faults
    tee: TeeKeys
    facilitator: Facilitator

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopped = False
        self._stop_lock = threading.Lock()
        self.tee_registry_id: str | None = None
        self.state: StateDir | None = None
        """The state directory kept across runs (None: nothing is kept)."""

    @classmethod
    def start(
        cls,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rpc_url: str | None = None,
        chain_id: int | None = None,
        upstream: str | None = None,
        upstream_model: str | None = None,
        tokens_per_second: float = DEFAULT_TOKENS_PER_SECOND,
        session_idle: float = DEFAULT_SESSION_IDLE,
        session_cap: int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        batch_interval: float = DEFAULT_BATCH_INTERVAL,
        tls: bool = False,
        fund: Iterable[str | tuple[str, int]] = (),
        faults: Faults | None = None,
        on_progress: Callable[[str], None] | None = None,
        state_dir: Path | str | None = None,
        fresh: bool = False,
    ) -> Devnet:
        """Start everything and block until the gateway answers (≈ 1 s on py-evm).

        `fund` takes addresses or `(address, opg_base_units)` pairs to credit
        besides the ten standard test accounts (when the chain is created: a resumed
        chain keeps its balances). `session_cap` (base units) defaults to the live
        gateway's 0.1 OPG. `chain_id` runs the chain as that id; 8453 makes a twin of
        Base mainnet (OPG at Base's address) that the official SDK pays unchanged.
        `state_dir` keeps the chain, the TEE key and the unposted records there and
        resumes them (`fresh`: start over); StateInUse when another devnet runs on it,
        StateMismatch when its chain was made by other contracts or another chain id.
        """
        say = on_progress or (lambda _msg: None)
        self = cls()
        self.faults = faults or Faults()
        state = self.state = StateDir.open(state_dir, fresh=fresh) if state_dir else None

        hosts = tuple(dict.fromkeys((host, "127.0.0.1", "localhost")))
        genesis_fund = [
            (item, int(DEFAULT_FUND_OPG * 10**18))
            if isinstance(item, str)
            else (item[0], int(item[1]))
            for item in fund
        ]
        # The chain (web3/py-evm imports, genesis) is the long pole: boot it first, and
        # make the TEE key and import the gateway's stack while it runs.
        store = state.chain_path if state is not None else None
        where = f" at {rpc_url}" if rpc_url else " (py-evm, in-process)"
        kept = f", kept in {state.path}" if state is not None else ""
        say(f"starting the chain{where}{kept}")
        chain_boot = _Boot(
            "og-devnet-boot",
            lambda: Chain.start(rpc_url=rpc_url, fund=genesis_fund, chain_id=chain_id, store=store),
        )
        # Deliberately here, not at the top: these pull aiohttp, pydantic and cryptography
        # (≈ 0.5 s), which load while the chain boots instead of before it (the devnet's
        # ready time is a benchmark). Nothing else in the devnet imports its own modules late.
        # The TEE module first: an RSA key is made (≈ 0.1-0.3 s, OpenSSL without the GIL)
        # on its own thread while the rest is imported.
        from .tee import TeeKeys
        from .tee_keystore import load_or_create

        key_boot = _Boot(
            "og-devnet-tee-key",
            lambda: load_or_create(state, hosts) if state is not None else TeeKeys.generate(hosts),
        )
        from .app import make_app
        from .facilitator import Facilitator
        from .gateway import Gateway
        from .pending_records import PendingRecords

        responder: Responder = LocalResponder(tokens_per_second)
        if upstream:  # only then: the forwarder's stream parsing pulls httpx in
            from .upstream import UpstreamResponder

            responder = UpstreamResponder(upstream, model=upstream_model)

        try:
            self.tee = key_boot.result()
        except BaseException:
            with contextlib.suppress(BaseException):  # the chain's own failure is secondary
                chain_boot.result().stop()
            self.stop()
            raise
        say(f"TEE key ready: {self.tee.tee_id[:18]}…")
        try:
            self.chain = chain_boot.result()
        except BaseException:
            self.stop()
            raise
        self.accounts = list(self.chain.accounts)
        self.chain_id = int(self.chain.chain_id)
        say(f"chain {self.chain_id} ready; contracts deployed")
        self.facilitator = Facilitator(self.chain, refuse_settlement=self.faults.refuse_settlement)
        self.gateway = Gateway(
            chain=self.chain,
            facilitator=self.facilitator,
            tee=self.tee,
            pay_to=_tee_payment_address(),
            responder=responder,
            config=GatewayConfig(
                session_cap=session_cap if session_cap is not None else DEFAULT_SESSION_CAP,
                session_idle=session_idle,
                batch_size=batch_size,
                batch_interval=batch_interval,
            ),
            faults=self.faults,
            pending=PendingRecords(state.records_path) if state is not None else None,
        )
        queued = self.gateway.data.restore()
        if self.chain.identity.resumed:
            say(f"chain resumed at block {self.chain.index.head}; {queued} record(s) to post")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="og-devnet-gateway", daemon=True
        )
        self._thread.start()
        try:
            serving = self._serve(make_app(self.gateway), host, port, tls, say)
            fut = asyncio.run_coroutine_threadsafe(serving, self._loop)
            fut.result(timeout=60)
        except BaseException:
            self.stop()
            raise
        say(f"gateway listening on {self.url}")
        return self

    async def _serve(
        self, app: web.Application, host: str, port: int, tls: bool, say: Callable[[str], None]
    ) -> None:
        from aiohttp import web

        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, host, port, ssl_context=self._ssl_context() if tls else None
        )
        await site.start()
        sockets = self._runner.addresses
        bound_port = int(sockets[0][1]) if sockets else port
        shown_host = f"[{host}]" if ":" in host else host
        self.url = f"{'https' if tls else 'http'}://{shown_host}:{bound_port}"
        self.gateway.base_url = self.url
        say("registering the TEE in the registry")
        self.tee_registry_id = await self.chain.operator.register_tee(
            payment_address=self.gateway.pay_to,
            endpoint=self.url,
            public_key_der=self.tee.public_key_der,
            tls_certificate_der=self.tee.certificate_der,
        )

    def _ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory(prefix="og-devnet-tls-") as tmp:
            cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
            with open(cert, "w") as fh:
                fh.write(self.tee.certificate_pem)
            fd = os.open(key, os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(self.tee.tls_key_pem())
            ctx.load_cert_chain(cert, key)
        return ctx

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        """Run a coroutine on the gateway's loop from another thread and return its result."""
        if self._loop is None:
            raise RuntimeError("the devnet is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def settle_open_sessions(self) -> list[SettlementRecord]:
        """Settle every open session now (what the idle reaper would do later); their records."""
        return self.run(self.gateway.settle_open_sessions())

    def flush_batch(self) -> None:
        """Post the pending batch root now instead of waiting for the interval."""
        self.run(self.gateway.flush_batch())

    def stop(self) -> None:
        """Settle open sessions and post pending batches, then stop the gateway and the chain."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        loop = self._loop
        if loop is not None and loop.is_running():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=120)
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        if loop is not None and not loop.is_running():
            loop.close()
        chain = getattr(self, "chain", None)
        if chain is not None:
            chain.stop()
        if self.state is not None:
            self.state.close()

    async def _shutdown(self) -> None:
        gateway = getattr(self, "gateway", None)
        if gateway is not None:
            await gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def __enter__(self) -> Devnet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------
# `og-chat devnet`
# ---------------------------------------------------------------------------


def warm_embedded() -> None:
    """Import what `start_embedded`'s first call loads, starting nothing: the chain's web3,
    eth-tester and py-evm, and the gateway's aiohttp stack (≈ 1.4 s of a first start's
    1.65 s here). The TUI's devnet child (`og_chat.sdk.devnet_process`) runs it while it
    waits to learn whether it is needed; a start then costs the genesis, not the imports.
    Registered as the ``og_chat.embedded_devnet_warm`` entry point."""
    import eth.db.atomic  # noqa: F401 - imported for their side effect: loaded
    import eth_keys.main  # noqa: F401
    import eth_tester  # noqa: F401
    import web3  # noqa: F401

    from . import app, facilitator, gateway, pending_records, tee, tee_keystore  # noqa: F401


def start_embedded(
    *,
    tokens_per_second: float | None = None,
    on_progress: Callable[[str], None] | None = None,
    state_dir: Path | str | None = None,
) -> Devnet:
    """The SDK's embedded devnet (`og_chat.sdk.embedded`, registered as an entry point).

    With `state_dir` (the app passes `<og-chat data dir>/devnet`) the chain is kept there
    and resumed. When another og-chat runs a devnet on it, this one runs without keeping
    its chain (said through `on_progress`); a kept chain this version cannot run (other
    contracts) is moved aside to `previous-<time>/` and a new one started.
    """
    say = on_progress or (lambda _msg: None)
    options: dict[str, Any] = {"on_progress": on_progress}
    if tokens_per_second is not None:
        options["tokens_per_second"] = tokens_per_second
    if state_dir is None:
        return Devnet.start(**options)
    try:
        return Devnet.start(state_dir=state_dir, **options)
    except StateInUse:
        say(f"{state_dir} is in use by another og-chat: this devnet's chain is not kept")
        return Devnet.start(**options)
    except StateMismatch as exc:
        state = StateDir.open(state_dir)
        try:
            moved = state.set_aside()
        finally:
            state.close()
        say(f"{exc}; moved it to {moved} and started a new chain")
        return Devnet.start(state_dir=state_dir, **options)


class _Boot(Generic[T]):
    """`fn()` on a thread of its own, started now; `result()` joins it (re-raising its error)."""

    def __init__(self, name: str, fn: Callable[[], T]) -> None:
        self._fn = fn
        self._value: list[T] = []
        self._error: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value.append(self._fn())
        except BaseException as exc:  # re-raised on the caller's thread by result()
            self._error.append(exc)

    def result(self) -> T:
        """What `fn()` returned, once it has; its exception if it raised."""
        self._thread.join()
        if self._error:
            raise self._error[0]
        return self._value[0]


def _fund_arg(text: str) -> tuple[str, int]:
    """`ADDRESS[:AMOUNT]` (AMOUNT in OPG, default 1000) → (address, base units)."""
    address, _, amount = text.partition(":")
    if not (address.startswith("0x") and len(address) == 42):
        raise argparse.ArgumentTypeError(f"{address!r} is not a 0x address")
    try:
        opg = Decimal(amount) if amount else DEFAULT_FUND_OPG
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{amount!r} is not an OPG amount") from None
    if opg < 0:
        raise argparse.ArgumentTypeError("the amount must be ≥ 0")
    return address, int(opg * 10**18)


def _chain_id_arg(text: str) -> int:
    """A positive chain id (EIP-155 ids fit in 64 bits on every client)."""
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a chain id") from None
    if not 0 < value < 2**63:
        raise argparse.ArgumentTypeError("a chain id is a positive 64-bit integer")
    return value


def add_devnet_arguments(parser: argparse.ArgumentParser) -> None:
    """The `og-chat devnet` options."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8402, help="port (0 = any free port)")
    parser.add_argument("--rpc-url", help="use this JSON-RPC chain (e.g. anvil) instead of py-evm")
    parser.add_argument(
        "--chain-id",
        type=_chain_id_arg,
        default=None,
        help="run the chain as this id; 8453 is a twin of Base mainnet for the official SDK",
    )
    parser.add_argument(
        "--upstream", help="answer with this OpenAI-compatible server (Ollama, vLLM…)"
    )
    parser.add_argument(
        "--upstream-model", help="model name to send upstream (default: as requested)"
    )
    parser.add_argument(
        "--tokens-per-second",
        type=float,
        default=DEFAULT_TOKENS_PER_SECOND,
        help="pace of local answers (0 = unpaced)",
    )
    parser.add_argument(
        "--session-idle",
        type=float,
        default=DEFAULT_SESSION_IDLE,
        help="settle a session after this many idle seconds",
    )
    parser.add_argument(
        "--tls", action="store_true", help="serve HTTPS with the registered certificate"
    )
    parser.add_argument("--state", metavar="DIR", help=STATE_HELP)
    parser.add_argument("--fresh", action="store_true", help=FRESH_HELP)
    parser.add_argument(
        "--fund",
        action="append",
        type=_fund_arg,
        default=[],
        metavar="ADDRESS[:AMOUNT]",
        help="also credit ADDRESS with AMOUNT OPG (default 1000); repeatable",
    )


def run_devnet_command(args: argparse.Namespace) -> int:
    """Start a devnet, print how to use it, and serve until Ctrl-C (settling open sessions)."""
    status: Status | None = None
    try:
        from rich.console import Console

        console = Console()
        status = console.status("starting the devnet…")
        status.start()
    except ImportError:  # rich is optional here
        pass

    def progress(msg: str) -> None:
        if status is not None:
            status.update(msg + "…")
        else:
            print(f"· {msg}", flush=True)

    if args.fresh and not args.state:
        print("og-chat devnet: --fresh starts a kept chain over; give --state DIR")
        return 2
    started = time.perf_counter()
    try:
        devnet = Devnet.start(
            host=args.host,
            port=args.port,
            rpc_url=args.rpc_url,
            chain_id=getattr(args, "chain_id", None),
            upstream=args.upstream,
            upstream_model=getattr(args, "upstream_model", None),
            tokens_per_second=args.tokens_per_second,
            session_idle=args.session_idle,
            tls=args.tls,
            fund=list(args.fund or []),
            on_progress=progress,
            state_dir=args.state,
            fresh=args.fresh,
        )
    except ConfigurationError as exc:  # StateInUse, StateMismatch, --state with --rpc-url
        if status is not None:
            status.stop()
        print(f"og-chat devnet: {exc}")
        return 1
    except OSError as exc:
        if status is not None:
            status.stop()
        print(f"og-chat devnet: could not start: {exc}")
        print(f"  → is port {args.port} already in use? try --port 0")
        return 1
    finally:
        if status is not None:
            status.stop()
    stop = threading.Event()
    try:
        print(describe(devnet, time.perf_counter() - started), flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        open_sessions = sum(1 for s in devnet.gateway.sessions.values() if s.status == "open")
        print(f"\nstopping: settling {open_sessions} open session(s)…", flush=True)
    finally:
        devnet.stop()
    print("devnet stopped.")
    return 0


def _tls_lines(doc: dict[str, Any]) -> list[str]:
    """The served certificate, for a `--tls` devnet: clients pin it (it is in `/devnet`)."""
    pem = doc.get("tls_certificate")
    if not isinstance(pem, str):
        return []
    fingerprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
    return [
        f"  TLS          certificate sha256 {fingerprint[:32]}…, registered on-chain;",
        "               its PEM is `tls_certificate` in GET /devnet",
    ]


def _twin_lines(doc: dict[str, Any]) -> list[str]:
    """A devnet on Base's chain id says what it is (and who may sign for it)."""
    if doc.get("chain_id") != MAINNET_CHAIN_ID:
        return []
    return [
        "  twin of Base mainnet: OPG at Base's OPG address, chain id 8453. Only the test",
        "  keys below may sign for it: their signatures would be valid on the real Base.",
    ]


def describe(devnet: Devnet, seconds: float | None = None) -> str:
    """The banner `og-chat devnet` prints: URLs, chain, contracts, funded test accounts."""
    doc = devnet.gateway.devnet_document()
    lines = [
        f"og-chat devnet ready{f' in {seconds:.2f} s' if seconds is not None else ''}",
        "",
        f"  gateway      {doc['gateway_url']}",
        f"  JSON-RPC     {doc['rpc_url']}",
        f"  chain id     {doc['chain_id']}  ({doc['network']})",
        f"  genesis      {doc['genesis_hash']}  (instance {doc['instance_id']})",
        "  state        "
        + (
            f"kept in {devnet.state.path}" + (" (resumed)" if devnet.chain.identity.resumed else "")
            if devnet.state is not None
            else "not kept (use --state DIR to keep the chain)"
        ),
        f"  TEE id       {doc['tee_id']}",
        f"  pay to       {doc['pay_to']}",
        f"  facilitator  {doc['facilitator_address']}",
        *_tls_lines(doc),
        *_twin_lines(doc),
        f"  session      cap {int(doc['session']['cap']) / 10**18:g} OPG, "
        f"settled after {doc['session']['idle_seconds']:g} s idle",
        "",
        "  contracts",
    ]
    lines += [f"    {name:<20} {address}" for name, address in doc["contracts"].items()]
    lines += [
        "",
        "  funded accounts — PUBLIC TEST KEYS (the standard `test … junk` mnemonic).",
        "  Never send real funds to them; anyone can spend from these keys.",
    ]
    for i, acct in enumerate(doc["accounts"]):
        lines.append(f"    ({i}) {acct['address']}  {acct['private_key']}")
    lines += [
        "",
        f"  use it:  OG_NETWORK=devnet OG_DEVNET_URL={doc['gateway_url']} og-chat",
        "  Ctrl-C stops the devnet (open sessions are settled first).",
    ]
    return "\n".join(lines)
