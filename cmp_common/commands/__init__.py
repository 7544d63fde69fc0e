"""Helpers for management commands (not part of the SDK's distribution)."""
