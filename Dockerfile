# mock-aspsp as a container: `docker run -p 8080:8080 mock-aspsp`
# Install and start are the README's own commands (`make install`, `mock-aspsp serve`);
# tests/e2e/test_dockerfile_recipe.py runs them outside Docker so this recipe cannot rot.
FROM python:3.11-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY setup.cfg pyproject.toml README.md Makefile ./
COPY mock_aspsp ./mock_aspsp
COPY schemas ./schemas
COPY scenarios ./scenarios
RUN make install VENV=/opt/mock-aspsp

ENV PATH=/opt/mock-aspsp/bin:$PATH \
    MOCK_ASPSP_HOST=0.0.0.0 \
    MOCK_ASPSP_PORT=8080 \
    MOCK_ASPSP_WORKERS=2 \
    PYTHONUNBUFFERED=1

RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin mock
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/__admin/health' % os.environ.get('MOCK_ASPSP_PORT', '8080'), timeout=2)"]
CMD ["mock-aspsp", "serve"]
