# The storefront image for EKS: gunicorn (gthread) serving serving:create_app() on port 8000, as a non-root user
# with a read-only root filesystem (the pod mounts /tmp writable: the workers' metric files and heartbeats).
# Build from the repository root: docker build -f docker/storefront.Dockerfile -t storefront .
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    BFP_TARGET=aws BFP_BIND=0.0.0.0:8000 BFP_INTERNAL_BIND=0.0.0.0:9000 PROMETHEUS_MULTIPROC_DIR=/tmp/metrics
WORKDIR /app
# the storefront's own dependency set: the Flask stack only
COPY serving/requirements.txt serving/requirements.txt
RUN pip install --no-cache-dir -r serving/requirements.txt
COPY serving/ serving/
# the schema the migration Job applies (python -m serving.migrate), and the value lists the API validates by
COPY sql/oltp/ sql/oltp/
COPY sql/value_lists.json sql/value_lists.json
RUN useradd --uid 10001 --no-create-home storefront
USER 10001
EXPOSE 8000 9000
# BFP_SECRET_KEY, DATABASE_URL, REDIS_URL, BFP_CACHE_REDIS_URL (and BFP_ADMIN_TOKEN) come from the pod's
# environment (k8s Secret); with BFP_TARGET=aws the app refuses to start without them.
CMD ["gunicorn", "-c", "serving/gunicorn.conf.py"]
