"""[storage]: where the state areas that can live on object storage are kept.

`backend = "local"` (the default) keeps everything in folders under the home, as always.
`backend = "s3"` puts the archive in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2...):
`bucket`, an optional key `prefix`, `endpoint_url` for anything but AWS itself (an
`http://` URL allows plain HTTP, for a store on loopback), and `region`. The ERP outbox goes
there too (etl.to_erp.files.shared_outbox), and so do the snapshots (etl.state.blob_snapshots)
and the Norce outbox (etl.norce.file_delivery), and the spools of received bodies
(etl.state.blob_spool; docs/architecture.md says which area is where).

The access key id and secret come from the environment or a file, as every secret does
(`access_key_id_env` / `access_key_id_file`, `secret_access_key_env` / `_file`): never in the
TOML, and never printed (they are `SecretStr`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from etl.config.toml import Strict

# The secrets of [storage] as they appear in TOML, and the field each resolves into.
STORAGE_SECRETS = {"access_key_id": "access_key_id", "secret_access_key": "secret_access_key"}


class StorageSettings(Strict):
    """Local folders, or an S3-compatible bucket for the archive."""

    backend: Literal["local", "s3"] = "local"
    # S3's bucket naming rules: 3-63 lower-case letters, digits, dots and hyphens.
    bucket: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    # Keys go under "<prefix>/archive/...": one bucket can serve several installations.
    prefix: str = Field(default="", pattern=r"^([^/.\\][^/\\]*(/[^/.\\][^/\\]*)*)?$")
    endpoint_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/\S*)?$")
    region: str = "us-east-1"
    access_key_id: SecretStr | None = None  # resolved from access_key_id_env / _file
    secret_access_key: SecretStr | None = None  # resolved from secret_access_key_env / _file
    timeout_seconds: float = Field(default=30.0, gt=0)  # one request
    # How long a failing request is retried (5xx, dropped connections) before it gives up.
    retry_seconds: float = Field(default=60.0, ge=0)

    @model_validator(mode="after")
    def _s3_is_complete(self) -> StorageSettings:
        if self.backend != "s3":
            return self
        if self.bucket is None:
            raise ValueError('backend "s3" needs a bucket')
        if self.access_key_id is None or self.secret_access_key is None:
            # Named explicitly, so a process never falls back to probing an instance's
            # metadata service or reading credentials nobody configured for it.
            raise ValueError(
                'backend "s3" needs access_key_id_env (or _file) and secret_access_key_env '
                "(or _file)"
            )
        return self
