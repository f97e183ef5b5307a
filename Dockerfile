# Relaydesk web app and worker: one image, the command decides (see docker-compose.yml).

# The console and the widget, built from the lock file; only their dist/ folders leave
# this stage (no Node.js, node_modules or TypeScript in the image).
FROM node:20-slim AS frontend

WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY app/console app/console
COPY widgets widgets
RUN npm run build


FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# The whole context: .dockerignore leaves out tests, docs, bench and local state, and the
# packages pyproject.toml installs are whichever of app/, channels/, ... exist.
COPY . .
# The built front ends become package data (pyproject.toml) of the installed packages.
COPY --from=frontend /src/app/console/dist app/console/dist
COPY --from=frontend /src/widgets/dist widgets/dist
RUN python -m venv /opt/venv && /opt/venv/bin/pip install .


FROM python:3.11-slim

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RELAYDESK_DATA_DIR=/data

RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin relaydesk \
    && mkdir /data \
    && chown relaydesk:relaydesk /data

COPY --from=build /opt/venv /opt/venv
# app.startup looks for alembic.ini (and through it migrations/) next to the `app` package,
# which is the repository root in a checkout and site-packages in this installed image.
COPY alembic.ini /opt/venv/lib/python3.11/site-packages/
COPY migrations /opt/venv/lib/python3.11/site-packages/migrations
WORKDIR /srv/relaydesk
RUN chown relaydesk:relaydesk /srv/relaydesk

USER relaydesk
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["relaydesk", "serve", "--host", "0.0.0.0", "--port", "8000"]
