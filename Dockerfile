# The Telegram bot in a container: `docker build -t backpain-bot .` (see README.md).
# Pinned by version so a rebuild gets the same Python; bump it on purpose.
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app

# Dependencies in their own layer: it is rebuilt only when pyproject.toml changes, not on
# every edit of the code. The list is read from pyproject.toml, so it is never repeated here.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir --requirement /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The bot itself (its dependencies are already installed above).
COPY README.md ./
COPY bot/ ./bot/
RUN pip install --no-cache-dir --no-deps . \
    && groupadd --gid 10001 bot \
    && useradd --create-home --uid 10001 --gid 10001 --no-log-init --shell /usr/sbin/nologin bot \
    && mkdir -p /app/data \
    && chown bot:bot /app/data \
    && rm -rf build ./*.egg-info

# The bundled knowledge; mount your own folder over /app/knowledge to edit it without a rebuild.
COPY knowledge/ ./knowledge/

# Numeric, so Kubernetes runAsNonRoot and the host can tell it is not root.
USER 10001:10001

# knowledge/: the clinic's YAML files (admins edit them, then /reload).
# data/: the SQLite database (conversation state, unanswered questions); keep it on a volume.
VOLUME ["/app/knowledge", "/app/data"]

# The token comes from the environment: docker run -e TELEGRAM_BOT_TOKEN ...
# With no --config, `run` reads /app/config.yaml if one is mounted, else the environment only.
CMD ["backpain-bot", "run"]
