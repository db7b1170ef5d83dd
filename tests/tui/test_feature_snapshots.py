"""Snapshots of issue 14's screens: conversation settings, personas, search, and a
transcript with a superseded answer and an inline image (no backend, fixed content).

Refresh after reviewing the report: `pytest tests/tui/test_feature_snapshots.py
--snapshot-update`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from og_chat.devnet.drawing import draw_png, png_data_uri
from og_chat.store.config import Config, Persona, save_config
from og_chat.tui.chat import ChatState

from .test_snapshots import SIZE, T0, _app, _ready, _settle, snap_home  # noqa: F401

IMAGE_MODEL = "google/gemini-2.5-flash-image"


@pytest.fixture
def persona_home(snap_home: Path) -> Path:  # noqa: F811
    """The snapshot home, with two personas in the config."""
    save_config(
        Config(
            theme="opengradient",
            personas={
                "reviewer": Persona(
                    system="You review patches: terse, concrete, one finding per line.",
                    model="anthropic/claude-haiku-4-5",
                    temperature=0.2,
                    max_tokens=600,
                ),
                "tutor": Persona(system="Explain step by step, then quiz me.", temperature=0.8),
            },
        )
    )
    return snap_home


def _chat(*, image: bool = True) -> ChatState:
    chat = ChatState(
        id="c-snap",
        title="Merkle proofs",
        model="anthropic/claude-haiku-4-5",
        created_at=T0,
        system_prompt="Answer in two sentences.",
        temperature=0.3,
        max_tokens=400,
        persona="reviewer",
    )
    chat.add({"role": "user", "content": "What does a batch receipt prove?"})
    chat.add(
        {
            "role": "assistant",
            "content": "That your request and answer hashes are leaves of a posted root.",
            "superseded": True,
        }
    )
    chat.add(
        {
            "role": "assistant",
            "content": "That the TEE's hashes of your call are in a Merkle tree whose root is "
            "on-chain; the proof links the leaf to that root.",
        }
    )
    if image:
        chat.add({"role": "user", "content": "Draw a Merkle tree."})
        uri = png_data_uri(draw_png("a Merkle tree", IMAGE_MODEL))
        chat.add({"role": "assistant", "content": "Here it is.", "images": [uri]})
    return chat


def test_chat_settings_screen(snap_compare: Any, persona_home: Path) -> None:
    async def run_before(pilot: Any) -> None:
        await _ready(pilot)
        await pilot.app.main_screen.show_chat(_chat(image=False))
        await _settle(pilot)
        await pilot.press("f8")
        await _settle(pilot)

    assert snap_compare(_app(), run_before=run_before, terminal_size=SIZE)


def test_persona_picker(snap_compare: Any, persona_home: Path) -> None:
    async def run_before(pilot: Any) -> None:
        await _ready(pilot)
        await pilot.press("ctrl+n")
        await _settle(pilot)

    assert snap_compare(_app(), run_before=run_before, terminal_size=SIZE)


def test_search_screen(snap_compare: Any, snap_home: Path) -> None:  # noqa: F811
    async def run_before(pilot: Any) -> None:
        await _ready(pilot)
        await pilot.press("ctrl+f", *"merkle")
        screen = pilot.app.screen
        for _ in range(100):
            await pilot.pause(0.05)
            if screen.results is not None:
                break
        await _settle(pilot)

    assert snap_compare(_app(), run_before=run_before, terminal_size=SIZE)


def test_superseded_answer_and_inline_image(
    snap_compare: Any,
    snap_home: Path,  # noqa: F811
) -> None:
    async def run_before(pilot: Any) -> None:
        await _ready(pilot)
        main = pilot.app.main_screen
        await main.show_chat(_chat())
        await _settle(pilot)
        conversation = main.query_one("#conversation")
        conversation.release_anchor()
        conversation.scroll_home(animate=False)
        pilot.app.screen.set_focus(None)
        await _settle(pilot)

    assert snap_compare(_app(), run_before=run_before, terminal_size=SIZE)
