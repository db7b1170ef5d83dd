"""og-chat: a terminal client for OpenGradient's paid, verifiable LLM inference."""

__version__ = "0.1.0"
