"""Stepping between providers keeps the user on the nearest model."""

from __future__ import annotations

from og_chat.sdk.models import CATALOGUE, PROVIDERS
from og_chat.tui.widgets.model_picker import closest_model, step_provider


def test_small_model_steps_to_a_small_model() -> None:
    haiku = CATALOGUE["anthropic/claude-haiku-4-5"]
    nxt = step_provider(haiku, 1)
    assert nxt.provider == "google"
    assert any(word in nxt.name for word in ("flash", "lite"))


def test_stepping_through_every_provider_comes_back() -> None:
    model = CATALOGUE["openai/gpt-4.1-mini"]
    seen = []
    for _ in PROVIDERS:
        model = step_provider(model, 1)
        seen.append(model.provider)
    assert seen[-1] == "openai"
    assert set(seen) == set(PROVIDERS)


def test_text_model_never_steps_onto_an_image_model_when_there_is_a_choice() -> None:
    for info in CATALOGUE.values():
        if info.image_output:
            continue
        for provider in PROVIDERS:
            choice = closest_model(info, provider)
            assert not choice.image_output, (info.id, provider, choice.id)


def test_previous_is_the_inverse_direction() -> None:
    sonnet = CATALOGUE["anthropic/claude-sonnet-4-5"]
    assert step_provider(sonnet, -1).provider == "openai"
