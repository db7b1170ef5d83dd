"""The exceptions `og_chat.sdk` raises.

Every error says what happened and what to do about it. Messages never contain
key material: only addresses, amounts and field values from the wire.

Errors are values: what a caller needs is a typed field (`hint`, `receipt`,
`partial_text`, `result`), never parsed out of the message. `str(error)` is the
message and, on its own line, the hint, as the CLI prints it.
"""

from __future__ import annotations

import json
from decimal import Decimal

from .outputs import StreamChunk, TextGenerationOutput
from .receipt import Receipt

HINT_SEPARATOR = "\n  → "
"""Between the message and the hint in `str(error)`."""


class OGError(Exception):
    """Base class of every og-chat error."""

    hint: str = ""
    """What to do about it (empty when there is nothing to suggest)."""
    receipt: Receipt | None = None
    """The receipt of the paid call this error ended, so nothing paid is lost."""

    def __init__(
        self, message: str, *, hint: str | None = None, receipt: Receipt | None = None
    ) -> None:
        self.hint = hint if hint is not None else self.hint
        self.receipt = receipt
        super().__init__(message)

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base}{HINT_SEPARATOR}{self.hint}" if self.hint else base


class ConfigurationError(OGError, ValueError):
    """The client was set up wrongly: a missing key, an unknown network or model."""


class UntrustedNetwork(ConfigurationError):
    """A key would sign for a network it cannot trust; nothing was signed or sent.

    `url` and `chain_id` name the network, `what` what would have been signed;
    the hint says how to opt in (when opting in is possible at all).
    """

    def __init__(
        self, message: str, *, url: str | None, chain_id: int | None, what: str, hint: str
    ) -> None:
        self.url = url
        self.chain_id = chain_id
        self.what = what
        super().__init__(message, hint=hint)


class ReceiptStoreUnavailable(OGError):
    """The receipt of a payment could not be written ahead of it; nothing was signed or sent.

    `path` is the receipt log, `reason` the operating system's (`Read-only file system`,
    `File too large`, ...).
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(
            f"cannot record the payment in {path} ({reason}); nothing was signed",
            hint="free some disk space or fix the data directory's permissions, then try again",
        )


class PaymentError(OGError):
    """A payment could not be made or was not accepted."""


class MalformedPaymentHeader(PaymentError):
    """An x402 header or body could not be decoded."""

    hint = "the gateway sent an x402 message this client cannot read; nothing was signed"

    def __init__(self, header: str, reason: str) -> None:
        self.header = header
        self.reason = reason
        super().__init__(f"malformed {header}: {reason}")


class PaymentRefused(PaymentError):
    """The payment policy refused a requirement; nothing was signed."""

    hint = "nothing was signed; raise the cap in the config if you trust this gateway"

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        """The requirement's field that was refused (`amount`, `payTo`, ...)."""
        self.value = value
        self.reason = reason
        super().__init__(f"payment refused: {field}={value!r}: {reason}")


class SpendCapExceeded(PaymentRefused):
    """A spend cap would be exceeded; nothing was signed or sent.

    `cap` is the config key (`max_per_day_opg`, ...); `limit`, `spent` and
    `needed` are OPG amounts: the cap, what already counts against it, and what
    this authorization or call could add at most. `field` is the refused
    requirement's field (`amount`) when a 402 asked for too much at once.
    """

    hint = "nothing was signed or sent; raise the cap in the config ([spend]) if you mean to"

    def __init__(
        self, cap: str, limit: Decimal, spent: Decimal, needed: Decimal, *, field: str = ""
    ) -> None:
        self.cap = cap
        self.limit = limit
        self.spent = spent
        self.needed = needed
        reason = f"{spent} OPG counts already and this could add {needed} OPG"
        if field:
            reason = f"the gateway asks {needed} OPG in one authorization ({field})"
        super().__init__(field or cap, limit, reason)
        self.args = (f"payment refused: {cap} = {limit} OPG would be exceeded: {reason}",)


class PaymentRequired(PaymentError):
    """The gateway still demands payment after this client paid (or could not pay)."""

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        status: int = 402,
        receipt: Receipt | None = None,
    ) -> None:
        self.reason = reason
        self.status = status
        hint = "check your OPG balance and Permit2 allowance (`og-chat wallet balance`)"
        if reason and "allowance" in reason:
            hint = "approve more OPG for Permit2 (`llm.ensure_opg_approval(...)`)"
        super().__init__(message, hint=hint, receipt=receipt)


class GatewayError(OGError):
    """The gateway answered with an error status or an unreadable body."""

    def __init__(
        self, status: int, reason: str, *, url: str = "", receipt: Receipt | None = None
    ) -> None:
        self.status = status
        """The HTTP status; 0 when no answer came (unreachable, timed out, cut off)."""
        self.reason = reason
        self.url = url
        hint = "the gateway failed; try again or pick another model"
        if 400 <= status < 500:
            hint = "the request was rejected; check the model name and the arguments"
        super().__init__(f"gateway error {status}: {reason}", hint=hint, receipt=receipt)


class StreamInterrupted(OGError):
    """A streamed answer stopped before it finished; the text received so far is kept."""

    hint = "the partial answer is kept; send again to retry (a new call is paid anew)"

    def __init__(
        self, reason: str, *, partial_text: str = "", receipt: Receipt | None = None
    ) -> None:
        self.reason = reason
        self.partial_text = partial_text
        """The answer received before the stream stopped."""
        message = f"stream interrupted after {len(partial_text)} characters: {reason}"
        super().__init__(message, receipt=receipt)


class VerificationFailed(OGError):
    """A TEE signature, TLS certificate or settlement proof did not verify."""

    hint = "do not trust this answer; pass verify=False only if you know why"

    def __init__(
        self,
        what: str,
        reason: str,
        *,
        result: TextGenerationOutput | StreamChunk | None = None,
        receipt: Receipt | None = None,
    ) -> None:
        self.what = what
        self.reason = reason
        self.result = result
        """The answer that failed to verify (the output, or a stream's final chunk)."""
        super().__init__(f"{what} did not verify: {reason}", receipt=receipt)


class ChainError(OGError):
    """A chain call or transaction failed."""


def error_reason(body: bytes | str) -> str:
    """A short human reason from an error body (JSON `error`/`detail`/`message`, else text)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:300] or "(empty body)"
    if isinstance(data, dict):
        for key in ("error", "detail", "message"):
            value = data.get(key)
            if isinstance(value, dict):
                value = value.get("message") or json.dumps(value)
            if value:
                return str(value)[:300]
    return text.strip()[:300] or "(empty body)"
