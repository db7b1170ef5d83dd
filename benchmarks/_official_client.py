"""Runs inside the official-SDK venv (/tmp/og-bench-official): `opengradient.LLM.from_url`
against a devnet URL. Prints one JSON line. Not a benchmark module itself (no `bench_` prefix).

    python _official_client.py URL PRIVATE_KEY N [--patched NETWORK]

Stock mode uses the SDK exactly as shipped. `--patched eip155:<id>` additionally
registers the devnet's network on the SDK's own x402 client (the SDK hard-codes
eip155:8453), so the same code path can pay the devnet; it is reported as patched.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time


async def main(url: str, key: str, n: int, patched: str | None) -> dict:
    import opengradient  # noqa: F401  (the whole package, as users import it)
    from opengradient.client.llm import LLM

    if patched:
        from eth_account import Account
        from x402.mechanisms.evm import EthAccountSigner
        from x402.mechanisms.evm.exact.register import register_exact_evm_client
        from x402.mechanisms.evm.upto.register import register_upto_evm_client

        original = LLM._build_x402_client

        def build(private_key, rpc_url=None):  # type: ignore[no-untyped-def]
            client = original(private_key) if rpc_url is None else original(private_key, rpc_url)
            signer = EthAccountSigner(Account.from_key(private_key))
            register_exact_evm_client(client, signer, networks=[patched])
            register_upto_evm_client(client, signer, networks=[patched])
            return client

        LLM._build_x402_client = staticmethod(build)  # type: ignore[method-assign]

    from importlib.metadata import version

    out: dict = {"version": version("opengradient"), "patched": patched}
    llm = LLM.from_url(key, url)
    msgs = [{"role": "user", "content": "hi"}]
    model = "openai/gpt-5"
    try:
        await llm.chat(model, msgs, max_tokens=8)  # warm-up: lazy imports, connection
        transport = llm._tee.get().http_client._transport  # x402 transport: session cache
        first_cpu, first_wall = [], []
        for _ in range(5):  # first call of a session: 402, sign, resend
            transport._sessions.clear()
            c0, w0 = time.process_time(), time.perf_counter()
            await llm.chat(model, msgs, max_tokens=8)
            first_cpu.append(time.process_time() - c0)
            first_wall.append(time.perf_counter() - w0)
        out["first_cpu_ms"] = statistics.median(first_cpu) * 1000
        out["first_wall_ms"] = statistics.median(first_wall) * 1000
        cpu, wall = [], []
        for _ in range(n):
            c0, w0 = time.process_time(), time.perf_counter()
            await llm.chat(model, msgs, max_tokens=8)
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
        out["reused_cpu_ms"] = statistics.median(cpu) * 1000
        out["reused_wall_ms"] = statistics.median(wall) * 1000
        out["ok"] = True
    except BaseException as exc:  # report exactly why it could not pay
        cause = exc
        while cause.__cause__ is not None or cause.__context__ is not None:
            cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
        out["ok"] = False
        out["error"] = f"{type(exc).__name__}: {exc}"[:400]
        out["root"] = f"{type(cause).__name__}: {cause}"[:400]
    finally:
        await llm.close()
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    patched = None
    if "--patched" in args:
        i = args.index("--patched")
        patched = args[i + 1]
        del args[i : i + 2]
    url, key, n = args[0], args[1], int(args[2])
    print(json.dumps(asyncio.run(main(url, key, n, patched))), flush=True)
