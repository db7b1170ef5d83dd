"""What this client agrees to pay: every 402 is checked here before anything is signed."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .errors import PaymentRefused, SpendCapExceeded
from .eth import is_address
from .networks import NetworkProfile
from .spend import AUTHORIZATION_CAP, opg
from .x402 import PaymentRequired, PaymentRequirements, network_chain_id

SUPPORTED_SCHEMES = ("upto", "exact")


@dataclass(frozen=True)
class PaymentPolicy:
    """Limits for one network profile.

    The gateway chooses the amount and the recipient; the client chooses what
    it will sign. Anything outside these limits raises `PaymentRefused`.
    """

    profile: NetworkProfile
    max_amount: int
    """Largest single authorization, base units."""
    max_deadline_seconds: int

    @classmethod
    def for_profile(
        cls,
        profile: NetworkProfile,
        *,
        max_amount: int | None = None,
        max_deadline_seconds: int | None = None,
    ) -> PaymentPolicy:
        """The profile's defaults, optionally tightened or loosened by configuration."""
        return cls(
            profile=profile,
            max_amount=profile.max_authorization if max_amount is None else max_amount,
            max_deadline_seconds=(
                profile.max_deadline_seconds
                if max_deadline_seconds is None
                else max_deadline_seconds
            ),
        )

    def check(self, requirement: PaymentRequirements) -> None:
        """Raise PaymentRefused naming the first field that is not acceptable."""
        p = self.profile
        if requirement.scheme not in SUPPORTED_SCHEMES:
            raise PaymentRefused("scheme", requirement.scheme, "only upto and exact are supported")
        try:
            chain_id = network_chain_id(requirement.network)
        except ValueError:
            raise PaymentRefused("network", requirement.network, "not a known network") from None
        if chain_id != p.chain_id:
            raise PaymentRefused(
                "network", requirement.network, f"this profile ({p.name}) pays on {p.caip2} only"
            )
        if requirement.asset.lower() != p.opg.lower():
            raise PaymentRefused(
                "asset", requirement.asset, f"only OPG ({p.opg}) is paid on {p.name}"
            )
        method = requirement.transfer_method
        if method not in ("permit2", "eip3009"):
            raise PaymentRefused("extra.assetTransferMethod", method, "only permit2 and eip3009")
        if requirement.scheme == "upto" and method != "permit2":
            raise PaymentRefused("extra.assetTransferMethod", method, "upto needs permit2")
        if requirement.scheme == "upto" and not requirement.extra.get("facilitatorAddress"):
            raise PaymentRefused(
                "extra.facilitatorAddress", None, "upto needs a facilitator address"
            )
        if not is_address(requirement.pay_to):
            raise PaymentRefused("payTo", requirement.pay_to, "not an address")
        facilitator = requirement.extra.get("facilitatorAddress")
        if requirement.scheme == "upto" and not is_address(facilitator):
            raise PaymentRefused("extra.facilitatorAddress", facilitator, "not an address")
        amount = requirement.amount_int
        if amount <= 0:
            raise PaymentRefused("amount", requirement.amount, "must be positive")
        if amount > self.max_amount:
            raise SpendCapExceeded(
                AUTHORIZATION_CAP, opg(self.max_amount), Decimal(0), opg(amount), field="amount"
            )
        timeout = requirement.timeout_seconds
        if timeout <= 0 or timeout > self.max_deadline_seconds:
            raise PaymentRefused(
                "maxTimeoutSeconds",
                requirement.max_timeout_seconds,
                f"deadline would exceed the cap of {self.max_deadline_seconds} s",
            )

    def choose(self, required: PaymentRequired) -> PaymentRequirements:
        """The first acceptable requirement; if none is, the first one's refusal is raised."""
        if not required.accepts:
            raise PaymentRefused("accepts", [], "the gateway offered no way to pay")
        first_error: PaymentRefused | None = None
        for requirement in required.accepts:
            try:
                self.check(requirement)
            except PaymentRefused as exc:
                first_error = first_error or exc
                continue
            return requirement
        assert first_error is not None
        raise first_error
