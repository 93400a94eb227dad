# One image for all four Perkstream services (and the admin commands).
#
#   docker build -t perkstream .
#   docker run --rm perkstream                          # prints usage
#   docker run -e HTTP_PORT=8001 ... perkstream python -m services.memberships
#
# Configuration comes from the environment only (shared/settings.py): DATABASE_URL,
# KAFKA_BOOTSTRAP_SERVERS, HTTP_PORT (memberships 8001, loyalty 8002, inventory 8003,
# notifications 8004). docker-compose.yml wires the whole stack.
FROM python:3.11-slim

# Logs straight to stdout; no .pyc written at run time (pip compiled the package). The API must
# listen on every interface inside a container, not on the 127.0.0.1 default.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HTTP_HOST=0.0.0.0

# Install the project (runtime dependencies only, no dev extras). The SQL migrations and the
# other data files are package data, so the installed package is complete and the sources are
# removed: the one copy of the code that runs is the one pip installed.
WORKDIR /tmp/perkstream
COPY pyproject.toml ./
COPY shared/ shared/
COPY services/ services/
COPY deploy/ deploy/
RUN pip install --no-cache-dir . \
    && rm -rf /tmp/perkstream

# Run as an unprivileged user; numeric ids so `runAsNonRoot` style checks can verify it.
RUN groupadd --system --gid 10001 perkstream \
    && useradd --system --uid 10001 --gid perkstream --no-create-home --shell /usr/sbin/nologin perkstream
WORKDIR /app
USER 10001:10001

EXPOSE 8001 8002 8003 8004

# No default service: say how to pick one.
CMD ["python", "-c", "print('''Perkstream: choose what to run, e.g.\n  python -m services.memberships    (HTTP_PORT=8001)\n  python -m services.loyalty        (HTTP_PORT=8002)\n  python -m services.inventory      (HTTP_PORT=8003)\n  python -m services.notifications  (HTTP_PORT=8004)\n  python -m shared.admin migrate && python -m shared.admin create-topics\n  python -m shared.admin --help\nSettings: DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS, HTTP_PORT (HTTP_HOST is 0.0.0.0 here).''')"]
