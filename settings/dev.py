"""Local development: the embedded default, with development-only keys.

These keys protect nothing real; production reads its keys from the environment.
"""

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("LOG_FORMAT", "plain")
os.environ.setdefault("SECRET_KEY", "dev-only-secret-key-not-for-production")
os.environ.setdefault(
    "CMP_DATA_KEYS", "dev1:ZGV2LW9ubHktZGF0YS1rZXktMzItYnl0ZXMtbG9uZyE="
)
os.environ.setdefault("CMP_LOOKUP_KEY", "dev-only-lookup-key")
os.environ.setdefault(
    "CMP_SIGNING_KEYS", "dev1:ZGV2LW9ubHktc2lnbmluZy1rZXktc2VlZC0zMi1ieXQ="
)

# The demo's webhook receivers listen on this machine, over plain HTTP.
os.environ.setdefault("CMP_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")
os.environ.setdefault("CMP_WEBHOOK_REQUIRE_HTTPS", "false")

from settings.base import *  # noqa: F403
