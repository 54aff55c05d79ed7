FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY contracts contracts
COPY identifiers identifiers
COPY ledger ledger
COPY credit credit
COPY zero_errand zero_errand
COPY qr qr
COPY api api
COPY scripts scripts
RUN pip install --no-cache-dir . && useradd --system --uid 10001 zel && mkdir /data && chown zel /data
USER zel
ENV ZEL_DATA_DIR=/data
EXPOSE 8000
CMD ["zel", "serve", "--host", "0.0.0.0", "--port", "8000"]
