"""Wire formats shared by the platform and the SDK; no Django, no database."""
