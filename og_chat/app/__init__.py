"""The application layer the faces share: runtime, settlement tracking, verification, tools.

Below it: `og_chat.store` and `og_chat.sdk`. Above it: `og_chat.tui` and
`og_chat.cli`. Nothing here imports Textual or Rich.
"""
