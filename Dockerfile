FROM python:3.12-slim-bookworm
WORKDIR /app
# DejaVu draws the studio labels and slates of the program.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY schedules ./schedules
COPY bridge ./bridge
COPY web ./web
RUN pip install --no-cache-dir .
ENV TELEBRIDGE_DATA_DIR=/data TELEBRIDGE_HOST=0.0.0.0 TELEBRIDGE_PORT=8080
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)" || exit 1
CMD ["telebridge", "serve"]
