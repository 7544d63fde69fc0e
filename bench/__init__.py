"""Benchmarks; importable so that gunicorn can load the bench settings and URLs."""
