# The three services' images, built from the repository root; the target picks one:
#   podman build --target runner_svc -t runner-svc .
# (docker compose: context ".", target per service). They share every layer of `base`.
FROM python:3.11-slim AS base

# HOST=0.0.0.0: in a container the published port reaches the service only on a
# non-loopback interface (outside containers the default stays 127.0.0.1).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    HOST=0.0.0.0

WORKDIR /app

# the project metadata and the pinned versions first, then the four packages
COPY pyproject.toml constraints.txt ./
COPY shared/ shared/
COPY workflows_svc/ workflows_svc/
COPY scheduler_svc/ scheduler_svc/
COPY runner_svc/ runner_svc/
# A venv, so that the same lines work on python:3.11-slim (/usr/local/bin/python3) and on a
# plain Debian python3 (/usr/bin/python3, whose system site-packages pip must not touch).
# The optional build secrets pip.conf / pip-ca.crt let pip trust what the build host trusts
# (a proxy's CA, a private index); they are mounted for this step only, never stored.
RUN --mount=type=secret,id=pip.conf --mount=type=secret,id=pip-ca.crt \
    python3 -m venv /opt/venv \
    && PIP_CONFIG_FILE=/run/secrets/pip.conf pip install --no-cache-dir -c constraints.txt .

RUN useradd --system --uid 10001 --no-create-home app
USER app

HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=5 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['PORT'] + '/health', timeout=3)"]

# exec: the service is PID 1 and gets the stop signal itself
CMD ["sh", "-c", "exec python -m \"$SERVICE\""]

FROM base AS workflows_svc
ENV SERVICE=workflows_svc PORT=8081
EXPOSE 8081

FROM base AS scheduler_svc
ENV SERVICE=scheduler_svc PORT=8082
EXPOSE 8082

# last: a build without --target gives the runner
FROM base AS runner_svc
ENV SERVICE=runner_svc PORT=8083
EXPOSE 8083
