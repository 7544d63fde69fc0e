"""A recipient's own Django project, minimal, that integrates with `cmp.client`.

It runs in its own process in the SDK tests (gunicorn on a free port), configured
from the environment: where the platform is, its client credentials and the
webhook secret. It has no database of its own.
"""

import os

SECRET_KEY = "recipient-project-test-key"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "tests.client.recipient_project.urls"
INSTALLED_APPS = ["rest_framework"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
DATABASES = {}
USE_TZ = True
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}
CMP_CLIENT = {
    "base_url": os.environ["CMP_BASE_URL"],
    "client_id": os.environ["CMP_CLIENT_ID"],
    "client_secret": os.environ["CMP_CLIENT_SECRET"],
}
CMP_WEBHOOK_SECRET = os.environ.get("CMP_WEBHOOK_SECRET", "")
NOTICES_FILE = os.environ.get("NOTICES_FILE", "")
