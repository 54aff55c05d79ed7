FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY contracts contracts
COPY ledger ledger
COPY credit credit
COPY zero_errand zero_errand
COPY qr qr
COPY api api
COPY scripts scripts
RUN pip install --no-cache-dir .
ENTRYPOINT []
CMD ["zel", "status"]
