# Renoz Dashboard: one image for web, worker and beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# WeasyPrint renders PDFs through Pango and HarfBuzz; DejaVu gives the PDFs a font to use.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, so editing code does not reinstall them.
COPY pyproject.toml ./
RUN pip install .

COPY . .
# Content-hashed, pre-compressed (gzip + brotli) static files, served by WhiteNoise.
RUN STATIC_MANIFEST=1 python manage.py collectstatic --noinput -v 0 \
    && useradd --create-home --uid 1000 renoz \
    && mkdir -p media artifacts \
    && chown -R renoz /app/media /app/artifacts

USER renoz
# Production settings: DEBUG off, so every process (web, worker, beat) refuses to start without
# a strong SECRET_KEY in the environment (infra/secret_key.py says how to make one).
ENV DEBUG=0
EXPOSE 8000
# gunicorn.conf.py reads WEB_CONCURRENCY, GUNICORN_THREADS, GUNICORN_TIMEOUT, ... from env.
CMD ["gunicorn", "-c", "gunicorn.conf.py"]
