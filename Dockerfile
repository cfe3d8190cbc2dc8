# ccaas router image: `docker compose up` builds it for router-1 and router-2.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Install the package first so that edits to config/ and seeds/ do not rebuild this layer.
COPY pyproject.toml README.md ./
COPY ccaas ./ccaas
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /app ccaas \
    && mkdir -p /app/var \
    && chown ccaas /app/var

COPY config ./config
COPY seeds ./seeds

USER ccaas

# In a container the API must listen on all interfaces; the rest comes from compose/env.
ENV CCAAS_HTTP_HOST=0.0.0.0 \
    CCAAS_HTTP_PORT=8080 \
    CCAAS_ROUTING_FILE=/app/config/routing.yaml \
    CCAAS_DATA_DIR=/app/var \
    CCAAS_LOG_FORMAT=json

EXPOSE 8080

CMD ["ccaas", "serve"]
