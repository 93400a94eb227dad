# One image for all five Perkstream services (and the admin commands).
#
#   docker build -t perkstream .
#   docker run --rm perkstream                          # prints usage
#   docker run -e HTTP_PORT=8001 ... perkstream python -m services.memberships
#
# Configuration comes from the environment only (shared/settings.py): DATABASE_URL,
# KAFKA_BOOTSTRAP_SERVERS, HTTP_PORT (memberships 8001, loyalty 8002, inventory 8003,
# notifications 8004, gateway 8005). docker-compose.yml wires the whole stack; deploy/k8s runs it on
# Kubernetes.
#
# Two stages: `build` installs exactly requirements/runtime.lock (every pin with its hashes: the
# services' dependencies only, none of the local stack's: no PostgreSQL wheel, no psutil, no bench) and
# then the project without dependencies into a virtualenv; the final stage copies that virtualenv alone
# onto a clean base, so no pip cache, no build tool and no source tree stays in the image. Both stages
# use the same Python (the tested minor, 3.11), so the virtualenv's interpreter link holds.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/perkstream
WORKDIR /src
# The lock first, alone: its layer (the slow one) is rebuilt only when the lock changes.
COPY requirements/runtime.lock requirements/runtime.lock
RUN /opt/perkstream/bin/pip install --require-hashes --only-binary=:all: -r requirements/runtime.lock
# The SQL migrations and the other data files are package data, so the installed package is complete.
COPY pyproject.toml ./
COPY shared/ shared/
COPY services/ services/
COPY deploy/ deploy/
RUN /opt/perkstream/bin/pip install --no-deps . \
    && /opt/perkstream/bin/pip uninstall --yes pip

FROM ${PYTHON_IMAGE}
# Logs straight to stdout; no .pyc written at run time (pip compiled the package). The API must
# listen on every interface inside a container, not on the 127.0.0.1 default.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/perkstream/bin:$PATH \
    HTTP_HOST=0.0.0.0

# Run as an unprivileged user; numeric ids so `runAsNonRoot` checks can verify it (deploy/k8s runs
# the pods as 10001 too).
RUN groupadd --system --gid 10001 perkstream \
    && useradd --system --uid 10001 --gid perkstream --no-create-home --shell /usr/sbin/nologin perkstream
COPY --from=build /opt/perkstream /opt/perkstream
WORKDIR /app
USER 10001:10001

EXPOSE 8001 8002 8003 8004 8005

# No default service: say how to pick one.
CMD ["python", "-c", "print('''Perkstream: choose what to run, e.g.\n  python -m services.memberships    (HTTP_PORT=8001)\n  python -m services.loyalty        (HTTP_PORT=8002)\n  python -m services.inventory      (HTTP_PORT=8003)\n  python -m services.notifications  (HTTP_PORT=8004)\n  python -m services.gateway        (HTTP_PORT=8005)\n  python -m shared.admin migrate && python -m shared.admin create-topics\n  python -m shared.admin --help\nSettings: DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS, HTTP_PORT (HTTP_HOST is 0.0.0.0 here).''')"]
