# One image for every retrofleet service; the compose file picks the command.
#
#   docker compose build                     the CPU image (see TORCH_SOURCE)
#   docker run --rm retrofleet:latest python -m services.learner --help
#
# torch is chosen explicitly, never by accident (docs/GPU.md):
#   TORCH_SOURCE=cpu (default)  a CPU build: the torch wheel placed in the build
#       context under .docker-wheels/ (CI puts one there), else torch from
#       TORCH_INDEX_URL (PyTorch's CPU wheel index). With neither the build stops
#       and says so: the package index's Linux x86_64 torch is the multi-GB CUDA
#       build. Either way the build fails if the torch it got is a CUDA build.
#   TORCH_SOURCE=cuda           the CUDA build: torch from TORCH_INDEX_URL if set
#       (a CUDA version of your choice), else from the package index; any wheel
#       in .docker-wheels/ is ignored (docker-compose.gpu.yml); the build fails
#       if the torch it got is a CPU build. `index` is an old name for cuda.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ARG TORCH_SOURCE=cpu
ARG TORCH_INDEX_URL=

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
    torch_pin=$(sed -n 's/^\(torch==[^ ;#]*\).*/\1/p' /tmp/install/requirements.txt); \
    case "$TORCH_SOURCE" in \
      cpu) \
        if ls /tmp/install/torch-*.whl >/dev/null 2>&1; then \
          pip install /tmp/install/torch-*.whl; \
        elif [ -n "$TORCH_INDEX_URL" ]; then \
          pip install "$torch_pin" --index-url "$TORCH_INDEX_URL"; \
        else \
          echo "TORCH_SOURCE=cpu needs a CPU torch wheel in .docker-wheels/ or" \
               "--build-arg TORCH_INDEX_URL=<PyTorch's CPU wheel index>;" \
               "for the CUDA image build with TORCH_SOURCE=cuda (docs/GPU.md)" >&2; \
          exit 2; \
        fi ;; \
      cuda|index) \
        pip install "$torch_pin" ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} ;; \
      *) echo "TORCH_SOURCE must be cpu or cuda, not '$TORCH_SOURCE'" >&2; exit 2 ;; \
    esac; \
    pip install -r /tmp/install/requirements.txt; \
    rm -rf /tmp/install; \
    python -c "import torch, stable_retro, zmq; print('torch', torch.__version__)"; \
    cuda=$(python -c "import torch; print(torch.version.cuda or '')"); \
    if [ "$TORCH_SOURCE" = cpu ] && [ -n "$cuda" ]; then \
      echo "TORCH_SOURCE=cpu, but this torch is a CUDA $cuda build" >&2; exit 2; fi; \
    if [ "$TORCH_SOURCE" != cpu ] && [ -z "$cuda" ]; then \
      echo "TORCH_SOURCE=$TORCH_SOURCE, but this torch is a CPU build" >&2; exit 2; fi

WORKDIR /app
COPY common/ common/
COPY services/ services/
# The Atari 2600 ROMs that ale-py ships, into stable-retro (as scripts/setup.sh
# does), while root may still write into the virtual environment.
RUN python -m services.games --import-roms

# Run as a normal user. runs/ exists and is theirs so a named volume mounted
# there starts out writable (Docker copies the owner into a new volume).
RUN useradd --create-home --uid 1000 retrofleet \
    && mkdir -p /app/runs \
    && chown retrofleet:retrofleet /app/runs
USER retrofleet

# Exec form (here and in compose): Python is PID 1 and gets SIGTERM itself,
# so the learner checkpoints on `docker stop`. Compose sets each service's command.
CMD ["python", "-m", "services.relay"]
