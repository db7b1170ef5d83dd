"""Local state that never loses data: paths, config, sessions, receipts and the wallet key.

- `paths`: where things live (platform dirs, or ``OG_CHAT_HOME``); 0700 dirs, 0600 files
- `config`: ``config.toml`` ↔ a validated `Config`, with environment overrides
- `sessions`: one JSON file per conversation, replaced atomically; prompt drafts
- `receipts`: the append-only receipt log (JSONL), crash- and corruption-safe; its line format
  and fold (`receipt_records`), snapshot (`receipt_snapshot`) and export files (`receipt_files`)
- `query`: which receipts to show (`ReceiptQuery`, `parse_since`), for the CLI and the TUI
- `keystore`: the wallet key from ``OG_PRIVATE_KEY`` or an encrypted keystore
- `atomic`: the write-temp-fsync-rename step the others share

Nothing here imports Textual or Rich; eth-keyfile is imported only to use a key.
"""
