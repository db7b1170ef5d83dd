"""The application layer the faces share: runtime, settlement tracking, verification, tools.

- `runtime`: `Runtime`, the one typed seam the TUI and the CLI hold (network, client, receipts)
- `network`: which devnet a face names and whether it unlocks the wallet key
- `settlement`: the background tracker that settles pending receipts (`SettlementHost`)
- `verify`: every check of `og-chat receipts verify`; `checks`: their kinds and marks (✓ ⧗ ? ✗)
- `onchain`: what the tracker and verify both read from the chain
- `costs`: what a call cost (charged, else quoted, else the devnet's price table)
- `tools`: the built-in tools a model may call; `sanitize`: untrusted text made inert

Below it: `og_chat.store` and `og_chat.sdk`. Above it: `og_chat.tui` and
`og_chat.cli`. Nothing here imports Textual or Rich.
"""
