"""The devnet's own answers: deterministic markdown and tool calls, paced like a real model.

Every catalogue model answers in a recognisable per-provider voice, deterministically
for the same model and messages, so tests can assert on content and a user can see
which model answered. A prompt that matches an offered tool gets a tool call whose
arguments are read from the prompt; a conversation ending in tool results gets an
answer quoting them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from og_chat.sdk.models import CATALOGUE

from .drawing import IMAGE_TOKENS, draw_png, png_data_uri
from .generation import (
    Event,
    Finish,
    GenerationRequest,
    Images,
    Pacer,
    Text,
    ToolCalls,
    count_prompt_tokens,
    message_text,
    tokenize,
)

DEFAULT_TOKENS_PER_SECOND = 60.0
"""How fast local answers are paced unless told otherwise (about a hosted model's speed)."""
_WORD_RE = re.compile(r"[A-Za-z0-9_$/.-]+")


@dataclass(frozen=True)
class Voice:
    """How one provider's models sound."""

    opener: str
    bullets: int
    paragraphs: int
    summary_table: bool
    closer: str


VOICES: dict[str, Voice] = {
    "openai": Voice("Here's the short version.", 5, 1, False, "- Next step: ask for more detail."),
    "anthropic": Voice(
        "Let me think about this carefully before answering — there are a few things worth "
        "separating out.",
        3,
        3,
        False,
        "I hope that helps. If I've misread what you're after, tell me and I'll adjust.",
    ),
    "google": Voice(
        "Here is an overview, with a summary table first.",
        4,
        2,
        True,
        "Summary: the table above captures the main points.",
    ),
    "x-ai": Voice(
        "Alright, let's skip the corporate throat-clearing and get to it.",
        4,
        2,
        False,
        "That's the gist. Ask a spicier question next time.",
    ),
    "bytedance": Voice("Answer:", 3, 1, False, "Done."),
    "nous": Voice(
        "*leans back in the archive chair and opens a worn notebook* "
        "Ah, a fine question, traveller.",
        3,
        2,
        False,
        "*closes the notebook* Return whenever the road brings you back.",
    ),
    "zai": Voice(
        "Respected user, please find below a structured response to your enquiry.",
        4,
        2,
        False,
        "We remain at your disposal for any further enquiry.",
    ),
}
_DEFAULT_VOICE = Voice("Here is an answer.", 4, 2, False, "Let me know if you need more.")

_ADJ = ["robust", "simple", "verifiable", "local", "concise", "deterministic", "careful", "fast"]
_NOUN = ["design", "approach", "model", "ledger", "protocol", "workflow", "signal", "budget"]
_VERB = ["improves", "clarifies", "constrains", "simplifies", "anchors", "balances", "exposes"]
_SENTENCES = [
    "The core idea behind {t} is that a {a} {n} {v} the rest of the system.",
    "In practice, {t} works best when every step is {a} and easy to check.",
    "A common mistake is to treat {t} as a single {n}; it is really several small parts.",
    "Start with the {a} {n}, then measure before optimising anything else.",
    "When {t} meets real traffic, the {n} that {v} failure modes matters most.",
    "Keep the {n} {a}: each extra moving part is one more thing to verify.",
    "The trade-off is between a {a} {n} and one that is cheap to change later.",
    "Most of the value of {t} comes from a {a} {n} that {v} intent.",
]
_LONG_WORDS = ("long", "essay", "detailed", "thorough", "in depth", "in-depth", "comprehensive")
_STOPWORDS = {
    "the", "a", "an", "of", "to", "and", "or", "is", "are", "for", "in", "on", "what", "whats",
    "how", "me", "my", "you", "your", "please", "get", "give", "tell", "current", "with", "this",
    "that", "it", "be", "can", "could", "would", "should", "do", "does", "at", "by", "from", "as",
    "about", "returns", "return", "given", "some", "any", "now", "today", "use", "using",
}  # fmt: skip
_SYNONYMS = {
    "price": {"price", "cost", "worth", "value", "quote", "trading"},
    "token": {"token", "coin", "crypto", "eth", "btc", "opg", "sol"},
    "time": {"time", "clock", "hour", "date", "timezone", "o'clock"},
    "weather": {"weather", "temperature", "forecast", "rain", "sunny"},
}


def _seed(model_id: str, messages: list[dict[str, Any]]) -> int:
    blob = json.dumps([model_id, messages], sort_keys=True, default=str).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "big")


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for m in reversed(messages):
        if m.get("role") == "user":
            return message_text(m.get("content"))
    return ""


_LEAD_INS = re.compile(
    r"^(?:(?:please|kindly|can you|could you|would you|explain|describe|tell me about|tell me|"
    r"what is|what are|what's|whats|why does|why do|why is|why|how does|how do i|how do|how to|"
    r"give me|write|show me|summari[sz]e|compare|in (?:one|two|three|\d+) (?:sentences?|words|"
    r"paragraphs?))\s+)+",
    re.IGNORECASE,
)


def _topic(prompt: str) -> str:
    """A short noun phrase for the prompt: its first clause without the instruction words."""
    first = re.split(r"[.?!\n]", prompt.strip(), maxsplit=1)[0] if prompt.strip() else ""
    if ":" in first and first.rsplit(":", 1)[1].strip():
        first = first.rsplit(":", 1)[1]
    first = _LEAD_INS.sub("", first.split(",")[0].strip())
    topic = " ".join(first.split()[:6]).strip(" ,:;")
    if topic[:1].isupper() and not topic[1:2].isupper():
        topic = topic[:1].lower() + topic[1:]
    return topic or "your question"


def _target_length(prompt: str) -> int | None:
    """Completion tokens wanted when the prompt asks for length, else None (short answer)."""
    lowered = prompt.lower()
    m = re.search(r"(\d{2,6})\s*(?:-\s*)?(?:words|tokens)", lowered)
    if m:
        return max(50, min(int(m.group(1)), 20_000))
    if any(w in lowered for w in _LONG_WORDS):
        return 3000
    return None


def _sentence(rng: random.Random, topic: str) -> str:
    return rng.choice(_SENTENCES).format(
        t=topic, a=rng.choice(_ADJ), n=rng.choice(_NOUN), v=rng.choice(_VERB)
    )


def _paragraph(rng: random.Random, topic: str, sentences: int = 3) -> str:
    return " ".join(_sentence(rng, topic) for _ in range(sentences))


def _code_block(rng: random.Random, topic: str) -> str:
    name = "_".join(w.lower() for w in re.findall(r"[A-Za-z]+", topic)[:3]) or "answer"
    factor = rng.randint(2, 9)
    return (
        "```python\n"
        f"def {name}(values: list[int]) -> int:\n"
        f'    """A small, {rng.choice(_ADJ)} sketch."""\n'
        f"    return sum(v * {factor} for v in values)\n"
        "\n"
        f"print({name}([1, 2, 3]))\n"
        "```"
    )


def _table(rng: random.Random, rows: int = 3) -> str:
    lines = ["| Aspect | Rating | Notes |", "| --- | --- | --- |"]
    for _ in range(rows):
        lines.append(
            f"| {rng.choice(_NOUN).title()} | {rng.randint(1, 5)}/5 | "
            f"{rng.choice(_ADJ)} and {rng.choice(_ADJ)} |"
        )
    return "\n".join(lines)


def _section(rng: random.Random, topic: str, voice: Voice, heading: str) -> str:
    parts = [f"## {heading}", ""]
    for _ in range(voice.paragraphs):
        parts += [_paragraph(rng, topic), ""]
    parts.append("### Key points")
    parts += [f"- {_sentence(rng, topic)}" for _ in range(voice.bullets)]
    return "\n".join(parts)


def compose_answer(req: GenerationRequest) -> str:
    """The full markdown answer for a request (before max_tokens / stop are applied)."""
    rng = random.Random(_seed(req.model_id, req.messages))
    voice = VOICES.get(req.provider, _DEFAULT_VOICE)
    prompt = _last_user_text(req.messages)
    topic = _topic(prompt)
    header = f"**{req.display_name}** · {req.provider} · og-chat devnet"
    parts = [header, "", voice.opener, ""]
    if voice.summary_table:
        parts += ["| Summary | |", "| --- | --- |", f"| Topic | {topic} |"]
        parts += [f"| Verdict | {rng.choice(_ADJ)} |", ""]
    parts += [_section(rng, topic, voice, topic[:1].upper() + topic[1:]), ""]
    parts += [_table(rng), "", _code_block(rng, topic), ""]
    target = _target_length(prompt)
    if target:
        n = 1
        while len(tokenize("\n".join(parts))) < target:
            n += 1
            parts += [_section(rng, topic, voice, f"Part {n}: {rng.choice(_NOUN).title()}"), ""]
            if n % 3 == 0:
                parts += [_table(rng, 4), ""]
            if n % 5 == 0:
                parts += [_code_block(rng, f"{topic} {n}"), ""]
    parts.append(voice.closer)
    return "\n".join(parts).strip()


def _words(text: str) -> set[str]:
    out = set()
    for w in _WORD_RE.findall(text.lower()):
        w = w.strip(".-/")
        if len(w) < 3 or w in _STOPWORDS:
            continue
        out.add(w[:-1] if w.endswith("s") and len(w) > 4 else w)
    return out


def _expand(words: set[str]) -> set[str]:
    out = set(words)
    for key, group in _SYNONYMS.items():
        if words & group:
            out.add(key)
    return out


def choose_tool(tools: list[dict[str, Any]], prompt: str) -> dict[str, Any] | None:
    """The offered tool whose name/description best matches the prompt, or None."""
    prompt_words = _expand(_words(prompt))
    best: tuple[int, int, dict[str, Any]] | None = None
    for i, tool in enumerate(tools):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            continue
        name_words = _expand(_words(fn["name"].replace("_", " ")))
        desc_words = _expand(_words(str(fn.get("description", ""))))
        score = 3 * len(name_words & prompt_words) + len(desc_words & prompt_words)
        if score >= 2 and (best is None or score > best[0]):
            best = (score, -i, fn)
    return best[2] if best else None


_SYMBOL_RE = re.compile(r"\b[A-Z]{2,6}\b")
_NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?")


def fill_arguments(fn: dict[str, Any], prompt: str) -> dict[str, Any]:
    """Arguments for `fn` taken from the prompt, following its JSON schema loosely."""
    raw_params = fn.get("parameters")
    params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
    raw_props = params.get("properties")
    props: dict[str, Any] = raw_props if isinstance(raw_props, dict) else {}
    required = set(params.get("required") or [])
    args: dict[str, Any] = {}
    capitalised = [w for w in re.findall(r"\b[A-Z][a-z]+\b", prompt) if w.lower() not in _STOPWORDS]
    for name, schema in props.items():
        schema = schema if isinstance(schema, dict) else {}
        kind = schema.get("type", "string")
        lname = name.lower()
        value: Any = None
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            value = next((e for e in schema["enum"] if str(e).lower() in prompt.lower()), None)
            if value is None and name in required:
                value = schema["enum"][0]
        elif kind in ("integer", "number"):
            m = _NUMBER_RE.search(prompt)
            if m or name in required:
                num = float(m.group()) if m else 1
                value = int(num) if kind == "integer" else num
        elif kind == "boolean":
            value = True if name in required else None
        elif any(k in lname for k in ("symbol", "token", "ticker", "coin", "asset")):
            symbols = [s for s in _SYMBOL_RE.findall(prompt) if s not in {"I", "USD", "UTC"}]
            value = symbols[0] if symbols else "OPG"
        elif any(k in lname for k in ("currency", "quote", "vs")):
            value = "USD"
        elif any(k in lname for k in ("timezone", "tz", "zone")):
            zone = re.search(r"\b[A-Z][a-z]+/[A-Z][A-Za-z_]+\b", prompt)
            value = zone.group() if zone else "UTC"
        elif any(k in lname for k in ("city", "location", "place", "where")):
            m2 = re.search(r"\bin ([A-Z][a-zA-Z]+)", prompt)
            value = m2.group(1) if m2 else (capitalised[-1] if capitalised else "London")
        elif any(k in lname for k in ("query", "text", "prompt", "question", "input")):
            value = prompt.strip()
        elif name in required:
            value = capitalised[-1] if capitalised else prompt.strip()[:80]
        if value is not None:
            args[name] = value
    return args


def _tool_answer(req: GenerationRequest, rng: random.Random) -> str:
    """Answer a conversation whose last messages are tool results, quoting them."""
    voice = VOICES.get(req.provider, _DEFAULT_VOICE)
    names: dict[str, str] = {}
    for m in req.messages:
        if m.get("role") == "assistant" and isinstance(m.get("tool_calls"), list):
            for tc in m["tool_calls"]:
                if isinstance(tc, dict) and isinstance(tc.get("function"), dict):
                    names[str(tc.get("id"))] = str(tc["function"].get("name", "tool"))
    results = []
    for m in reversed(req.messages):
        if m.get("role") != "tool":
            break
        results.append(m)
    results.reverse()
    parts = [f"**{req.display_name}** · {req.provider} · og-chat devnet", "", voice.opener, ""]
    for m in results:
        name = names.get(str(m.get("tool_call_id")), "the tool")
        content = message_text(m.get("content"))
        parts.append(f"## Result of `{name}`")
        parts.append("")
        try:
            data = json.loads(content)
        except (ValueError, TypeError):
            data = None
        if isinstance(data, dict) and data:
            parts += ["| Field | Value |", "| --- | --- |"]
            parts += [
                f"| {k} | {json.dumps(v) if not isinstance(v, str) else v} |"
                for k, v in data.items()
            ]
        else:
            parts.append(f"The tool returned: {content}")
        parts.append("")
    topic = _topic(_last_user_text(req.messages))
    parts += [_paragraph(rng, topic, 2), "", voice.closer]
    return "\n".join(parts).strip()


def _apply_stop(text: str, stop: list[str]) -> str:
    cut = len(text)
    for s in stop:
        if s:
            i = text.find(s)
            if 0 <= i < cut:
                cut = i
    return text[:cut]


class LocalResponder:
    """Deterministic markdown answers and tool calls, paced like a real model."""

    def __init__(self, tokens_per_second: float = DEFAULT_TOKENS_PER_SECOND) -> None:
        self.tokens_per_second = tokens_per_second

    async def close(self) -> None:
        """Nothing to release (the Responder protocol's shutdown)."""

    def plan(self, req: GenerationRequest) -> tuple[list[str], list[dict[str, Any]] | None, str]:
        """`(tokens, tool_calls, finish_reason)` for `req`, before pacing."""
        rng = random.Random(_seed(req.model_id, req.messages))
        last = req.messages[-1] if req.messages else {}
        if req.tools and last.get("role") == "user":
            fn = choose_tool(req.tools, _last_user_text(req.messages))
            if fn is not None:
                args = fill_arguments(fn, _last_user_text(req.messages))
                call = {
                    "id": f"call_{rng.getrandbits(96):024x}",
                    "type": "function",
                    "function": {"name": fn["name"], "arguments": json.dumps(args)},
                }
                return [], [call], "tool_calls"
        text = _tool_answer(req, rng) if last.get("role") == "tool" else compose_answer(req)
        text = _apply_stop(text, req.stop)
        tokens = tokenize(text)
        if req.max_tokens is not None and len(tokens) > req.max_tokens:
            return tokens[: max(req.max_tokens, 0)], None, "length"
        return tokens, None, "stop"

    async def respond(self, req: GenerationRequest) -> AsyncIterator[Event]:
        """Yield the answer token by token, then `Finish` with the usage."""
        prompt_tokens = count_prompt_tokens(req.messages)
        pacer = Pacer(self.tokens_per_second)
        info = CATALOGUE.get(req.model_id)
        if info is not None and info.image_output:
            async for event in self._picture(req, pacer, prompt_tokens):
                yield event
            return
        tokens, tool_calls, reason = self.plan(req)
        if tool_calls:
            produced = 0
            for call in tool_calls:  # a tool call costs its argument tokens, paced like text
                n = len(tokenize(call["function"]["arguments"])) + 1
                for _ in range(n):
                    await pacer.tick()
                produced += n
            yield ToolCalls(tool_calls)
            yield Finish(reason, prompt_tokens, produced)
            return
        for tok in tokens:
            await pacer.tick()
            yield Text(tok)
        yield Finish(reason, prompt_tokens, len(tokens))

    async def _picture(
        self, req: GenerationRequest, pacer: Pacer, prompt_tokens: int
    ) -> AsyncIterator[Event]:
        """An image model's answer: a one-line caption, then the PNG drawn from the prompt."""
        prompt = _last_user_text(req.messages)
        caption = (
            f"**{req.display_name}** · {req.provider} · og-chat devnet\n\n"
            f"An image of {_topic(prompt)}."
        )
        tokens = tokenize(caption)
        for tok in tokens:
            await pacer.tick()
            yield Text(tok)
        png = await asyncio.to_thread(draw_png, prompt, req.model_id)
        yield Images([png_data_uri(png)])
        yield Finish("stop", prompt_tokens, len(tokens) + IMAGE_TOKENS)
