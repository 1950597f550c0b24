# One image for every retrofleet service; the compose file picks the command.
#
#   docker compose build                     CPU or CUDA torch, see TORCH_SOURCE
#   docker run --rm retrofleet:latest python -m services.learner --help
#
# torch: with TORCH_SOURCE=auto (default) a torch wheel placed in the build
# context under .docker-wheels/ is installed (CI puts a CPU build there: small
# and fast); without one, torch==2.13.0 comes from the package index, which on
# Linux x86_64 is the CUDA build. TORCH_SOURCE=index ignores .docker-wheels/
# (docker-compose.gpu.yml sets it). See docs/DOCKER.md.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ARG TORCH_SOURCE=auto

# A virtual environment works the same on the official slim image and on a
# plain Debian base (whose system Python refuses pip installs, PEP 668).
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv "$VIRTUAL_ENV"

# Dependencies first so code edits do not reinstall them. The bracket glob
# lets the build go on when .docker-wheels/ does not exist.
COPY requirements.txt .docker-wheel[s] /tmp/install/
RUN set -eu; \
    case "$TORCH_SOURCE" in auto|index) ;; \
      *) echo "TORCH_SOURCE must be auto or index, not '$TORCH_SOURCE'" >&2; exit 2 ;; esac; \
    if [ "$TORCH_SOURCE" = auto ] && ls /tmp/install/torch-*.whl >/dev/null 2>&1; then \
      pip install /tmp/install/torch-*.whl; \
    fi; \
    pip install -r /tmp/install/requirements.txt; \
    rm -rf /tmp/install; \
    python -c "import torch, stable_retro, zmq; print('torch', torch.__version__, 'CUDA', torch.version.cuda)"

WORKDIR /app
COPY common/ common/
COPY services/ services/

# Run as a normal user. runs/ exists and is theirs so a named volume mounted
# there starts out writable (Docker copies the owner into a new volume).
RUN useradd --create-home --uid 1000 retrofleet \
    && mkdir -p /app/runs \
    && chown retrofleet:retrofleet /app/runs
USER retrofleet

# Exec form (here and in compose): Python is PID 1 and gets SIGTERM itself,
# so the learner checkpoints on `docker stop`. Compose sets each service's command.
CMD ["python", "-m", "services.relay"]
