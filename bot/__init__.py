"""Back-pain physical-therapy bot: one conversation engine, Telegram and terminal adapters."""

__version__ = "0.1.0"
