"""The exceptions `og_chat.sdk` raises.

Every error says what happened and what to do about it. Messages never contain
key material: only addresses, amounts and field values from the wire.
"""

from __future__ import annotations


class OGError(Exception):
    """Base class of every og-chat error."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.hint = hint if hint is not None else self.hint
        super().__init__(message)

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base}\n  → {self.hint}" if self.hint else base


class ConfigurationError(OGError, ValueError):
    """The client was set up wrongly: a missing key, an unknown network or model."""


class PaymentError(OGError):
    """A payment could not be made or was not accepted."""


class MalformedPaymentHeader(PaymentError):
    """An x402 header or body could not be decoded."""

    def __init__(self, header: str, reason: str) -> None:
        self.header = header
        self.reason = reason
        super().__init__(
            f"malformed {header}: {reason}",
            hint="the gateway sent an x402 message this client cannot read; nothing was signed",
        )


class PaymentRefused(PaymentError):
    """The payment policy refused a requirement; nothing was signed."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(
            f"payment refused: {field}={value!r}: {reason}",
            hint="nothing was signed; raise the cap in the config if you trust this gateway",
        )


class PaymentRequired(PaymentError):
    """The gateway still demands payment after this client paid (or could not pay)."""

    def __init__(self, message: str, *, reason: str | None = None, status: int = 402) -> None:
        self.reason = reason
        self.status = status
        hint = "check your OPG balance and Permit2 allowance (`og-chat wallet balance`)"
        if reason and "allowance" in reason:
            hint = "approve more OPG for Permit2 (`llm.ensure_opg_approval(...)`)"
        super().__init__(message, hint=hint)


class GatewayError(OGError):
    """The gateway answered with an error status or an unreadable body."""

    def __init__(self, status: int, reason: str, *, url: str = "") -> None:
        self.status = status
        self.reason = reason
        self.url = url
        hint = "the gateway failed; try again or pick another model"
        if 400 <= status < 500:
            hint = "the request was rejected; check the model name and the arguments"
        super().__init__(f"gateway error {status}: {reason}", hint=hint)


class StreamInterrupted(OGError):
    """A streamed answer stopped before it finished; the text received so far is kept."""

    def __init__(self, reason: str, *, partial_text: str = "") -> None:
        self.reason = reason
        self.partial_text = partial_text
        super().__init__(
            f"stream interrupted after {len(partial_text)} characters: {reason}",
            hint="the partial answer is kept; send again to retry (a new call is paid anew)",
        )


class VerificationFailed(OGError):
    """A TEE signature, TLS certificate or settlement proof did not verify."""

    def __init__(self, what: str, reason: str) -> None:
        self.what = what
        self.reason = reason
        super().__init__(
            f"{what} did not verify: {reason}",
            hint="do not trust this answer; pass verify=False only if you know why",
        )


class ChainError(OGError):
    """A chain call or transaction failed."""
