# mock-aspsp as a container: `docker run -p 8080:8080 mock-aspsp`
# Install and start are the README's own commands (`make install`, `mock-aspsp serve`);
# tests/e2e/test_dockerfile_recipe.py runs them outside Docker so this recipe cannot rot.
ARG PYTHON_IMAGE=python:3.11-slim

# Build stage: the virtual environment, dependencies first in a layer of their own (a change of the
# sources reinstalls only the package). Its sources, build tree and make stay here.
FROM ${PYTHON_IMAGE} AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY setup.cfg Makefile ./
RUN make install-deps VENV=/opt/mock-aspsp
COPY pyproject.toml README.md ./
COPY mock_aspsp ./mock_aspsp
COPY schemas ./schemas
COPY scenarios ./scenarios
RUN make install VENV=/opt/mock-aspsp

# The image: Python and the virtual environment, nothing else.
FROM ${PYTHON_IMAGE}
COPY --from=build /opt/mock-aspsp /opt/mock-aspsp
ENV PATH=/opt/mock-aspsp/bin:$PATH \
    MOCK_ASPSP_HOST=0.0.0.0 \
    MOCK_ASPSP_PORT=8080 \
    MOCK_ASPSP_WORKERS=2 \
    PYTHONUNBUFFERED=1

RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin mock
USER 10001
EXPOSE 8080
# Plain HTTP or TLS (MOCK_ASPSP_TLS_CERT), the port of MOCK_ASPSP_PORT: the probe reads what serve reads.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["mock-aspsp", "health"]
CMD ["mock-aspsp", "serve"]
