# Telebridge: the installed package, run as an unprivileged user; data (SQLite when no
# PostgreSQL is set, the generated secret.key, recordings) under /data.
FROM python:3.12-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# DejaVu draws the studio labels and slates of the program (bridge/program/compositor.py);
# ffmpeg carries the live RTMP outputs to their destinations and srt-live-transmit (srt-tools)
# the SRT outputs (bridge/outputs/push.py).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core ffmpeg srt-tools \
    && rm -rf /var/lib/apt/lists/*

# A fixed uid, so that a recordings directory on other storage can be chowned to it. The data
# dir and recordings are the app user's alone (keys, database, recordings): a new volume copies
# their owner and mode from here.
RUN groupadd --system --gid 10001 telebridge \
    && useradd --system --uid 10001 --gid telebridge --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin telebridge \
    && mkdir -p /data/recordings \
    && chown -R telebridge:telebridge /data \
    && chmod 700 /data /data/recordings

WORKDIR /src
COPY pyproject.toml README.md ./
COPY schedules ./schedules
COPY bridge ./bridge
COPY web ./web
RUN pip install . && rm -rf /src

ENV TELEBRIDGE_DATA_DIR=/data \
    TELEBRIDGE_HOST=0.0.0.0 \
    TELEBRIDGE_PORT=8080
VOLUME ["/data"]
WORKDIR /data
USER telebridge
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://%s:%s/healthz' % (os.environ.get('TELEBRIDGE_HOST', '127.0.0.1'), os.environ.get('TELEBRIDGE_PORT', '8080')), timeout=3)"]
CMD ["telebridge", "serve"]
