"""The API for apps acting for one person (`/me/`), with tokens the person granted."""
