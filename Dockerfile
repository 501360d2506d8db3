# klaxon: one image for the watcher, the workers and the simulator (the command picks the role).
# No secret is baked in: API keys, passphrases and channel URLs come from the environment or
# from docker secrets mounted at /run/secrets at run time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY watcher ./watcher
COPY rules ./rules
COPY workers ./workers
COPY simulator ./simulator
COPY klaxon ./klaxon
RUN pip install '.[sim]' && useradd --create-home --uid 10001 klaxon
USER klaxon
ENTRYPOINT ["klaxon"]
CMD ["--help"]
