"""Every fixed address and published test key, defined once for the client and the devnet.

The canonical x402 contracts (Permit2 and the two proxies) are the same on every
chain; OPG and the TEE registry differ between mainnet and the devnet. The devnet
places its own contracts in genesis where its operator's first deployments would
land, so these addresses hold on every devnet og-chat starts.
"""

from __future__ import annotations

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

# -- canonical x402 contracts (every chain) -------------------------------------------
PERMIT2_ADDRESS = "0x000000000022D473030F116dDEE9F6B43aC78BA3"
UPTO_PERMIT2_PROXY = "0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002"
EXACT_PERMIT2_PROXY = "0x402085c248EeA27D92E8b30b2C58ed07f9E20001"

# -- mainnet (reference og-sdk-wire.md §1, §3, §6) ----------------------------------
MAINNET_CHAIN_ID = 8453
MAINNET_OPG = "0xFbC2051AE2265686a469421b2C5A2D5462FbF5eB"
MAINNET_REGISTRY = "0x703cB174AEadB35D611858369B4b1111dC9Abda6"
MAINNET_REGISTRY_RPC = "https://ogevmdevnet.opengradient.ai"
MAINNET_BASE_RPC = "https://base-rpc.publicnode.com"

# -- the devnet's genesis contracts ------------------------------------------------------
DEVNET_OPERATOR_KEY = "0xdae4671006c60a3619556ace98eca6f6e092948d05b13070a27ac492a4fba419"
"""m/44'/60'/0'/0/100 of DEVNET_MNEMONIC: owns OPG, the registry and settlement; the facilitator."""
DEVNET_OPERATOR = "0x8C3229EC621644789d7F61FAa82c6d0E5F97d43D"
DEVNET_OPG = "0xC064BA4F8D097c65089a379f4A94E7cC15132CB4"
"""CREATE address of the operator at nonce 0."""
DEVNET_TEE_REGISTRY = "0x0162c4eb1539e0123DA26D8a6747f3dEB2e01fE2"
"""CREATE address of the operator at nonce 1."""
DEVNET_SETTLEMENT = "0x8001d84541BdA0768CAd733103D8FE00566a49Fa"
"""CREATE address of the operator at nonce 2."""

# -- the devnet's published test accounts -----------------------------------------------
DEVNET_MNEMONIC = "test test test test test test test test test test test junk"
DEVNET_KEYS = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
)
"""Accounts m/44'/60'/0'/0/0..9 of DEVNET_MNEMONIC (the well-known anvil/hardhat keys)."""
DEVNET_ADDRESSES = (
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
    "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
    "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
    "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
    "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f",
    "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
)
