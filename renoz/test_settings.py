"""Test overrides: fast hashing, eager Celery, a separate Redis database."""

import os

os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")

from renoz.settings import *  # noqa: E402,F403
from renoz.settings import CACHES, REDIS_URL  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES["default"]["LOCATION"] = REDIS_URL
DASHBOARD_REFRESH_ON_WRITE = False
# Webhook tests post to a receiver on this machine (docs/alerts.md, "Webhooks").
ALERTS_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
