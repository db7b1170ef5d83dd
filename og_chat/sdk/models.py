"""The model catalogue: every model the OpenGradient gateway serves.

`TEE_LLM` mirrors the official SDK's enum (values are `provider/model`);
`CATALOGUE` adds what a UI needs: display names and capabilities.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from .errors import ConfigurationError


class TEE_LLM(str, Enum):
    """Every model of the gateway, valued `provider/model` as the official SDK has them."""

    GPT_4_1_2025_04_14 = "openai/gpt-4.1-2025-04-14"
    GPT_4_1_MINI = "openai/gpt-4.1-mini"
    GPT_4_1_NANO = "openai/gpt-4.1-nano"
    O3 = "openai/o3"
    O4_MINI = "openai/o4-mini"
    GPT_5 = "openai/gpt-5"
    GPT_5_MINI = "openai/gpt-5-mini"
    GPT_5_2 = "openai/gpt-5.2"
    GPT_5_4 = "openai/gpt-5.4"
    GPT_5_4_MINI = "openai/gpt-5.4-mini"
    GPT_5_4_NANO = "openai/gpt-5.4-nano"
    GPT_5_5 = "openai/gpt-5.5"
    GPT_IMAGE_2 = "openai/gpt-image-2"
    CLAUDE_SONNET_4_5 = "anthropic/claude-sonnet-4-5"
    CLAUDE_SONNET_4_6 = "anthropic/claude-sonnet-4-6"
    CLAUDE_HAIKU_4_5 = "anthropic/claude-haiku-4-5"
    CLAUDE_OPUS_4_5 = "anthropic/claude-opus-4-5"
    CLAUDE_OPUS_4_6 = "anthropic/claude-opus-4-6"
    CLAUDE_OPUS_4_7 = "anthropic/claude-opus-4-7"
    CLAUDE_OPUS_4_8 = "anthropic/claude-opus-4-8"
    GEMINI_2_5_FLASH = "google/gemini-2.5-flash"
    GEMINI_2_5_PRO = "google/gemini-2.5-pro"
    GEMINI_2_5_FLASH_LITE = "google/gemini-2.5-flash-lite"
    GEMINI_3_FLASH = "google/gemini-3-flash-preview"
    GEMINI_3_1_PRO_PREVIEW = "google/gemini-3.1-pro-preview"
    GEMINI_3_1_FLASH_LITE_PREVIEW = "google/gemini-3.1-flash-lite-preview"
    GEMINI_3_5_FLASH = "google/gemini-3.5-flash"
    GEMINI_2_5_FLASH_IMAGE = "google/gemini-2.5-flash-image"
    GEMINI_3_1_FLASH_IMAGE = "google/gemini-3.1-flash-image"
    GROK_4 = "x-ai/grok-4"
    GROK_4_FAST = "x-ai/grok-4-fast"
    GROK_4_1_FAST = "x-ai/grok-4-1-fast"
    GROK_4_1_FAST_NON_REASONING = "x-ai/grok-4-1-fast-non-reasoning"
    GROK_4_20_REASONING = "x-ai/grok-4.20-reasoning"
    GROK_4_20_NON_REASONING = "x-ai/grok-4.20-non-reasoning"
    GROK_CODE_FAST_1 = "x-ai/grok-code-fast-1"
    GROK_2_IMAGE = "x-ai/grok-2-image"
    SEED_1_6 = "bytedance/seed-1.6"
    SEED_1_8 = "bytedance/seed-1.8"
    SEED_2_0_LITE = "bytedance/seed-2.0-lite"
    DEEPSEEK_V4_FLASH = "bytedance/deepseek-v4-flash"
    DEEPSEEK_V4_PRO = "bytedance/deepseek-v4-pro"
    SEEDREAM_4_0 = "bytedance/seedream-4.0"
    SEEDANCE_4_5 = "bytedance/seedance-4.5"
    HERMES_4_405B = "nous/hermes-4-405b"
    HERMES_4_70B = "nous/hermes-4-70b"
    GLM_5_2 = "zai/glm-5.2"
    GLM_IMAGE = "zai/glm-image"


PROVIDERS: dict[str, str] = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "google": "Google",
    "x-ai": "xAI",
    "bytedance": "ByteDance",
    "nous": "Nous",
    "zai": "Z.ai",
}
"""Provider prefix → display name, in the order the UI lists them."""

_IMAGE_MODELS = {
    TEE_LLM.GPT_IMAGE_2,
    TEE_LLM.GEMINI_2_5_FLASH_IMAGE,
    TEE_LLM.GEMINI_3_1_FLASH_IMAGE,
    TEE_LLM.GROK_2_IMAGE,
    TEE_LLM.SEEDREAM_4_0,
    TEE_LLM.SEEDANCE_4_5,
    TEE_LLM.GLM_IMAGE,
}
_REASONING_MODELS = {
    TEE_LLM.O3,
    TEE_LLM.O4_MINI,
    TEE_LLM.GROK_4_1_FAST,
    TEE_LLM.GROK_4_20_REASONING,
    TEE_LLM.GEMINI_2_5_PRO,
    TEE_LLM.GEMINI_3_1_PRO_PREVIEW,
}


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One catalogue entry: what the UI shows and what the model can do."""

    id: str
    """Full id, `provider/model`."""
    enum_name: str
    provider: str
    """Provider prefix, e.g. `anthropic`."""
    name: str
    """The bare name the gateway expects in the request body."""
    display_name: str
    tools: bool
    image_output: bool
    reasoning: bool

    @property
    def provider_name(self) -> str:
        """The provider's display name, e.g. `Anthropic`."""
        return PROVIDERS.get(self.provider, self.provider)

    @property
    def badges(self) -> str:
        """Short capability marks for lists: tools, image, reasoning."""
        marks = []
        if self.tools:
            marks.append("tools")
        if self.image_output:
            marks.append("image")
        if self.reasoning:
            marks.append("reasoning")
        return " ".join(marks)


_WORD_CASE = {
    "gpt": "GPT",
    "glm": "GLM",
    "o3": "o3",
    "o4": "o4",
    "deepseek": "DeepSeek",
    "non": "non",
    "reasoning": "reasoning",
}


def _display_name(bare: str) -> str:
    date = re.search(r"-(\d{4}-\d{2}-\d{2})$", bare)
    if date:
        bare = bare[: date.start()]
    out: list[str] = []
    for word in bare.split("-"):
        lower = word.lower()
        if lower == "preview":
            out.append("(preview)")
        elif out and word.isdigit() and len(word) <= 2 and out[-1][-1:].isdigit():
            out[-1] += "." + word  # claude-haiku-4-5 → Claude Haiku 4.5
        elif word[:1].isdigit():
            out.append(word.upper() if word[-1:] in "bB" else word)
        else:
            out.append(_WORD_CASE.get(lower, word[:1].upper() + word[1:]))
    if date:
        out.append(f"({date.group(1)})")
    return " ".join(out)


def _info(member: TEE_LLM) -> ModelInfo:
    provider, bare = member.value.split("/", 1)
    image = member in _IMAGE_MODELS
    return ModelInfo(
        id=member.value,
        enum_name=member.name,
        provider=provider,
        name=bare,
        display_name=_display_name(bare),
        tools=not image,
        image_output=image,
        reasoning=member in _REASONING_MODELS,
    )


CATALOGUE: dict[str, ModelInfo] = {m.value: _info(m) for m in TEE_LLM}
"""Full id → ModelInfo for every model, in catalogue order."""


def resolve_model(name: str | TEE_LLM) -> ModelInfo:
    """Find a model by full id, bare name or enum name (case-insensitive).

    Raises ConfigurationError naming close matches when nothing fits.
    """
    if isinstance(name, TEE_LLM):
        return CATALOGUE[name.value]
    key = name.strip()
    if key in CATALOGUE:
        return CATALOGUE[key]
    lowered = key.lower()
    for info in CATALOGUE.values():
        if lowered in (info.id.lower(), info.name.lower(), info.enum_name.lower()):
            return info
    close = [i.id for i in CATALOGUE.values() if lowered and lowered in i.id.lower()][:5]
    hint = f"did you mean: {', '.join(close)}" if close else "list the models with `og-chat models`"
    raise ConfigurationError(f"unknown model {name!r}", hint=hint)


def split_model(model: str | TEE_LLM) -> tuple[str, str]:
    """`(provider, bare name)` for a model; unknown `provider/name` strings pass through.

    The gateway may serve models newer than this catalogue, so a well-formed
    `provider/name` is accepted as it is.
    """
    value = model.value if isinstance(model, TEE_LLM) else str(model)
    if "/" in value:
        provider, bare = value.split("/", 1)
        if provider and bare:
            return provider, bare
    info = resolve_model(value)
    return info.provider, info.name


def models_by_provider() -> dict[str, list[ModelInfo]]:
    """Catalogue grouped by provider prefix, providers in display order."""
    grouped: dict[str, list[ModelInfo]] = {p: [] for p in PROVIDERS}
    for info in CATALOGUE.values():
        grouped.setdefault(info.provider, []).append(info)
    return grouped
