"""TLS to a TEE is pinned to the certificate its registry entry holds.

A devnet started with `tls=True` serves HTTPS with the certificate it
registered. A client whose TEE entry names that certificate pays and gets a
verified answer over HTTPS; one whose entry names another certificate is
refused at the handshake with a GatewayError, signs nothing, and never falls
back to an unverified connection: its next call reads the registry again (over
the RPC pinned to the certificate the registry confirmed) and pins what the
registry says.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest

from og_chat.devnet import Devnet
from og_chat.devnet.tee import TeeKeys
from og_chat.sdk import LLM, tee as tee_mod
from og_chat.sdk.errors import GatewayError
from tests.devnet.paying_client import approve_permit2

MSG = [{"role": "user", "content": "hello over TLS"}]


@pytest.fixture(scope="module")
def tls_devnet() -> Iterator[Devnet]:
    net = Devnet.start(tls=True, tokens_per_second=0)
    try:
        yield net
    finally:
        net.stop()


async def _registry_entry(net: Devnet) -> tee_mod.TEEInfo:
    """The devnet's TEE as its registry lists it (read in-process: the RPC is behind the TLS)."""
    (row,) = [t for t in await net.chain.operator.active_tees(0) if t["endpoint"] == net.url]
    public_key = bytes(row["publicKey"])
    return tee_mod.TEEInfo(
        tee_id=tee_mod.tee_id_for(public_key),
        endpoint=net.url,
        payment_address=str(row["paymentAddress"]),
        public_key_der=public_key,
        tls_certificate_der=bytes(row["tlsCertificate"]),
    )


def _client_trusting(net: Devnet, entry: tee_mod.TEEInfo) -> LLM:
    llm = LLM(network="devnet", devnet_url=net.url)
    llm.router.remember_registry([entry])  # what the registry said
    return llm


def _pinned(cert_der: bytes) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(cadata=ssl.DER_cert_to_PEM_cert(cert_der))
    return ctx


async def test_correctly_pinned_client_pays_and_verifies_over_https(tls_devnet: Devnet) -> None:
    entry = await _registry_entry(tls_devnet)
    await approve_permit2(
        tls_devnet, tls_devnet.accounts[0].private_key, verify=_pinned(entry.tls_certificate_der)
    )
    llm = _client_trusting(tls_devnet, entry)
    try:
        out = await llm.chat("openai/gpt-4.1-mini", MSG)
    finally:
        await llm.close()
    assert out.tee_endpoint is not None and out.tee_endpoint.startswith("https://")
    assert out.signature_status.value == "verified" and llm.signatures_made == 1


async def test_a_certificate_not_in_the_registry_is_refused(tls_devnet: Devnet) -> None:
    genuine = await _registry_entry(tls_devnet)
    impostor = TeeKeys.generate(("127.0.0.1", "localhost"))
    entry = tee_mod.TEEInfo(
        tee_id=genuine.tee_id,
        endpoint=genuine.endpoint,
        payment_address=genuine.payment_address,
        public_key_der=genuine.public_key_der,
        tls_certificate_der=impostor.certificate_der,  # the registry names another certificate
    )
    llm = _client_trusting(tls_devnet, entry)
    try:
        with pytest.raises(GatewayError) as first:
            await llm.chat("openai/gpt-4.1-mini", MSG)
        exc = first.value
        assert "CERTIFICATE_VERIFY_FAILED" in str(exc) or "certificate" in str(exc).lower()
        assert "try again" in str(exc)
        assert llm.signatures_made == 0
        # The next call re-reads the registry, which names the genuine certificate: the
        # link is pinned to that one, never left unverified.
        out = await llm.chat("openai/gpt-4.1-mini", MSG)
    finally:
        await llm.close()
    assert out.signature_status.value == "verified" and llm.signatures_made == 1
    assert llm.router.tees and llm.router.tees[0].tls_certificate_der == genuine.tls_certificate_der
