"""Adapters: object stores, repositories, codecs, settings, logging, LLM clients."""
