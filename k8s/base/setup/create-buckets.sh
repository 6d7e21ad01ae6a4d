#!/bin/sh
# Creates the S3 bucket Flywheel keeps base models, adapters, datasets and Fisher information in; safe to run again.
# Used by the compose one-shot "minio-init" and the Kubernetes Job "s3-buckets" (the minio image ships mc).
# Env: S3_ENDPOINT (http://minio:9000), S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET (default flywheel).
set -eu
: "${S3_ENDPOINT:?set S3_ENDPOINT, e.g. http://minio:9000}"
: "${S3_ACCESS_KEY:?set S3_ACCESS_KEY}"
: "${S3_SECRET_KEY:?set S3_SECRET_KEY}"
bucket="${S3_BUCKET:-flywheel}"
# mc keeps its config under HOME; the root filesystem may be read-only.
export MC_CONFIG_DIR="${MC_CONFIG_DIR:-/tmp/.mc}"
i=0
until mc alias set flywheel "$S3_ENDPOINT" "$S3_ACCESS_KEY" "$S3_SECRET_KEY" >/dev/null 2>&1; do
  i=$((i + 1))
  [ "$i" -ge 60 ] && { echo "create-buckets: $S3_ENDPOINT did not answer in 2 minutes" >&2; exit 1; }
  sleep 2
done
mc mb --ignore-existing "flywheel/$bucket"
echo "create-buckets: bucket $bucket ready at $S3_ENDPOINT"
