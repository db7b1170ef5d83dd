"""Block 0 of the devnet: where every contract sits, who is funded, and with what storage.

Every contract is placed with its runtime code and storage (balances, owners), so
start-up sends no transactions and every address is fixed: Permit2 and the proxies
at their canonical addresses; OPG, the TEE registry and the data-settlement contract
where the operator's first three deployments would land (its nonce starts at 3).
The same alloc feeds py-evm's genesis state and anvil's `anvil_set*` calls.

A devnet on chain 8453 is a twin of Base mainnet: OPG sits at Base's OPG address, so
clients with Base's addresses built in (the official SDK) find it where they expect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

from og_chat.sdk.addresses import (
    DEVNET_ADDRESSES,
    DEVNET_KEYS,
    DEVNET_OPERATOR,
    DEVNET_OPERATOR_KEY,
    DEVNET_OPG,
    DEVNET_SETTLEMENT,
    DEVNET_TEE_REGISTRY,
    EXACT_PERMIT2_PROXY,
    MAINNET_CHAIN_ID,
    MAINNET_OPG,
    PERMIT2_ADDRESS,
    UPTO_PERMIT2_PROXY,
)
from og_chat.sdk.eth import keccak, word

from .contracts import artifact

OPERATOR_PATH = "m/44'/60'/0'/0/100"
"""Derivation path of DEVNET_OPERATOR_KEY in the devnet mnemonic."""
ONE_OPG = 10**18
INITIAL_OPG = 1_000 * ONE_OPG
"""OPG every test account holds at block 0."""
INITIAL_ETH = 10_000 * 10**18
"""Wei every test account (and the operator) holds at block 0."""
OPERATOR_NONCE = 3
"""The operator's nonce at block 0: OPG, the registry and settlement were its nonces 0-2."""
DEVNET_CHAIN_ID = 131277322940537
"""The default chain id: eth-tester's, which no public chain uses."""


@dataclass(frozen=True)
class DevAccount:
    """A funded devnet account. The keys are public test keys: never use them elsewhere."""

    address: str
    private_key: str


@dataclass(frozen=True)
class Addresses:
    """Where the devnet's contracts live (the `/devnet` document's "contracts")."""

    opg: str = DEVNET_OPG
    permit2: str = PERMIT2_ADDRESS
    upto_proxy: str = UPTO_PERMIT2_PROXY
    exact_permit2_proxy: str = EXACT_PERMIT2_PROXY
    tee_registry: str = DEVNET_TEE_REGISTRY
    settlement: str = DEVNET_SETTLEMENT

    @classmethod
    def for_chain(cls, chain_id: int) -> Addresses:
        """The devnet's layout on `chain_id`: on Base's id (the mainnet twin) OPG is Base's OPG."""
        return cls(opg=MAINNET_OPG) if chain_id == MAINNET_CHAIN_ID else cls()

    def by_contract(self) -> dict[str, str]:
        """Compiled contract name → its genesis address."""
        return {
            "OPGToken": self.opg,
            "Permit2": self.permit2,
            "x402UptoPermit2Proxy": self.upto_proxy,
            "x402ExactPermit2Proxy": self.exact_permit2_proxy,
            "TEERegistry": self.tee_registry,
            "DataSettlement": self.settlement,
        }


TEST_ACCOUNTS = tuple(DevAccount(a, k) for a, k in zip(DEVNET_ADDRESSES, DEVNET_KEYS, strict=True))
"""The ten funded accounts of the `test … junk` mnemonic."""
OPERATOR = DevAccount(DEVNET_OPERATOR, DEVNET_OPERATOR_KEY)
"""Owns OPG, the registry and settlement; signs every facilitator settlement."""


class GenesisAccount(TypedDict):
    """One account at block 0, in the shape py-evm's genesis state takes."""

    balance: int
    nonce: int
    code: bytes
    storage: dict[int, int]


def mapping_slot(key: bytes | int | str, slot: int) -> int:
    """Storage slot of `mapping[key]` for a mapping declared at `slot` (Solidity's layout)."""
    return int.from_bytes(keccak(word(key) + word(slot)), "big")


def genesis_alloc(
    fund: Sequence[tuple[str, int]] = (), addresses: Addresses | None = None
) -> dict[str, GenesisAccount]:
    """Every account and contract of the devnet at block 0: balance, nonce, code, storage.

    `fund` adds OPG (base units) to more addresses, which also get the test accounts' ETH.
    `addresses` places the contracts (default: the devnet's usual layout).
    """
    opg = artifact("OPGToken")
    balances: dict[str, int] = {a.lower(): INITIAL_OPG for a in DEVNET_ADDRESSES}
    for address, amount in fund:
        balances[address.lower()] = balances.get(address.lower(), 0) + int(amount)
    opg_storage = {
        opg.storage["owner"]: int(DEVNET_OPERATOR, 16),
        opg.storage["totalSupply"]: sum(balances.values()),
    }
    for address, amount in balances.items():
        opg_storage[mapping_slot(address, opg.storage["balanceOf"])] = amount
    storage: dict[str, dict[int, int]] = {
        "OPGToken": opg_storage,
        "TEERegistry": {artifact("TEERegistry").storage["owner"]: int(DEVNET_OPERATOR, 16)},
        "DataSettlement": {
            artifact("DataSettlement").storage["operator"]: int(DEVNET_OPERATOR, 16)
        },
    }
    alloc: dict[str, GenesisAccount] = {}
    for address in (*DEVNET_ADDRESSES, *(a for a, _ in fund)):
        alloc.setdefault(address, _account(INITIAL_ETH, nonce=0))
    alloc[DEVNET_OPERATOR] = _account(INITIAL_ETH, nonce=OPERATOR_NONCE)
    for name, address in (addresses or Addresses()).by_contract().items():
        alloc[address] = _account(
            0, nonce=1, code=artifact(name).deployed_bytecode, storage=storage.get(name, {})
        )
    return alloc


def _account(
    balance: int, *, nonce: int, code: bytes = b"", storage: dict[int, int] | None = None
) -> GenesisAccount:
    return {"balance": balance, "nonce": nonce, "code": code, "storage": storage or {}}
