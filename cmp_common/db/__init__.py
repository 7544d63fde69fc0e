"""Low-level database helpers for the platform's hot statements."""
