# The three services' image, built from the repository root; SERVICE picks the one it runs:
#   podman build --build-arg SERVICE=runner_svc --build-arg PORT=8083 -t runner-svc .
# (docker compose: context ".", args SERVICE and PORT per service).
FROM python:3.11-slim

# HOST=0.0.0.0: in a container the published port reaches the service only on a
# non-loopback interface (outside containers the default stays 127.0.0.1).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    HOST=0.0.0.0

WORKDIR /app

# Everything up to the ARGs below is the same for the three services, so a builder reuses
# these layers for the second and third image.
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

# workflows_svc (8081), scheduler_svc (8082) or runner_svc (8083)
ARG SERVICE=workflows_svc
ARG PORT=8081
ENV SERVICE=${SERVICE} \
    PORT=${PORT}
EXPOSE ${PORT}

HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=5 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['PORT'] + '/health', timeout=3)"]

# exec: the service is PID 1 and gets the stop signal itself
CMD ["sh", "-c", "exec python -m \"$SERVICE\""]
