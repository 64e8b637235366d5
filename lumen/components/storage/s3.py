"""Uploaded files in any S3-compatible object store, through boto3 (imported lazily)."""

from __future__ import annotations

from typing import Any

from lumen.errors import ComponentError, MissingExtraError, NotFoundError
from lumen.settings import UploadSettings


class S3BlobStore:
    """Objects in one bucket (created on first use when missing)."""

    def __init__(self, settings: UploadSettings) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError as exc:
            raise MissingExtraError("boto3", "s3") from exc
        self._bucket = settings.s3_bucket
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=(
                settings.s3_access_key_id.get_secret_value() if settings.s3_access_key_id else None
            ),
            aws_secret_access_key=(
                settings.s3_secret_access_key.get_secret_value()
                if settings.s3_secret_access_key
                else None
            ),
            config=Config(retries={"max_attempts": 3, "mode": "standard"}),
        )
        self._bucket_checked = False

    def _errors(self) -> tuple[type[BaseException], ...]:
        from botocore.exceptions import BotoCoreError, ClientError

        return (BotoCoreError, ClientError)

    def _ensure_bucket(self) -> None:
        if self._bucket_checked:
            return
        from botocore.exceptions import ClientError

        try:
            self._client.head_bucket(Bucket=self._bucket)
        except ClientError:
            self._client.create_bucket(Bucket=self._bucket)
        self._bucket_checked = True

    def put(self, key: str, data: bytes) -> None:
        """Upload the object."""
        try:
            self._ensure_bucket()
            self._client.put_object(Bucket=self._bucket, Key=key, Body=data)
        except self._errors() as exc:
            raise ComponentError(f"the object store failed: {type(exc).__name__}") from exc

    def get(self, key: str) -> bytes:
        """Download the object."""
        from botocore.exceptions import ClientError

        try:
            response = self._client.get_object(Bucket=self._bucket, Key=key)
            return bytes(response["Body"].read())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise NotFoundError(f"no stored file {key!r}") from None
            raise ComponentError(f"the object store failed: {type(exc).__name__}") from exc
        except self._errors() as exc:
            raise ComponentError(f"the object store failed: {type(exc).__name__}") from exc

    def delete(self, key: str) -> None:
        """Delete the object."""
        try:
            self._client.delete_object(Bucket=self._bucket, Key=key)
        except self._errors() as exc:
            raise ComponentError(f"the object store failed: {type(exc).__name__}") from exc
