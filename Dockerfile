# One image for both apps; docker-compose.yml picks the server with each service's command.
FROM python:3.13-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# The app user owns only /app (its working directory) and /data (the django SQLite volume).
RUN groupadd --gid 10001 app \
    && useradd --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app \
    && install -d -o app -g app /app /data

# Install the project (not editable) with every dependency pinned, and what the site service's
# reader needs beside them, then drop the sources: the servers import the installed packages.
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY aiohttp_app/ aiohttp_app/
COPY django_app/ django_app/
COPY shared/ shared/
COPY compare/ compare/
RUN pip install -c constraints.txt ".[site]" && rm -rf /src

WORKDIR /app
USER app
EXPOSE 8081 8082
CMD ["python", "-m", "aiohttp_app"]
