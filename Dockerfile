# One image per service: docker build --build-arg SERVICE=ingest -t kp-ingest .
# pip with the constraints file, because of the CPU torch pin (see ../shared/ARCHITECTURE.md).
FROM python:3.11-slim
ARG SERVICE
ENV PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 SERVICE=${SERVICE}
WORKDIR /app
COPY constraints.txt ./
COPY libs/common libs/common
COPY services/${SERVICE} services/${SERVICE}
RUN pip install --no-cache-dir -c constraints.txt \
      --extra-index-url https://download.pytorch.org/whl/cpu \
      ./libs/common ./services/${SERVICE}
WORKDIR /app/services/${SERVICE}
ENV HTTP_HOST=0.0.0.0
CMD ["sh", "-c", "exec python -m ${SERVICE} serve"]
