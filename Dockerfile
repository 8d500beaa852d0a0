# factcheck-bot: multi-stage build, slim runtime, non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY db ./db
COPY domain ./domain
RUN pip install --no-cache-dir --upgrade pip && pip install --no-cache-dir .

FROM python:3.11-slim
# Tesseract reads the text in screenshots (English, Russian, Ukrainian, Arabic); without it
# pictures are matched by file, fingerprint and caption only (OCR=off does the same).
RUN apt-get update \
    && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng \
       tesseract-ocr-rus tesseract-ocr-ukr tesseract-ocr-ara \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 factcheck \
    && mkdir -p /data && chown factcheck:factcheck /data
COPY --from=build /opt/venv /opt/venv
COPY docker/entrypoint.sh /usr/local/bin/entrypoint.sh
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite:////data/factcheck.db \
    WEBHOOK_PORT=8443
USER factcheck
WORKDIR /home/factcheck
VOLUME ["/data"]
EXPOSE 8443
# In webhook mode /healthz answers once the database does; in polling mode there is no
# HTTP server, so the check asks the database directly.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/entrypoint.sh", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
CMD ["run"]
