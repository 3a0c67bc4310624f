import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "renoz.settings")
# Tricky: read by settings, so only the web server's connections get the statement timeout;
# Celery workers, beat and management commands never import this module first.
os.environ.setdefault("RENOZ_PROCESS", "web")
application = get_wsgi_application()
