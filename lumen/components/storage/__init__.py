"""Where uploaded files are kept: a local folder or an S3-compatible object store."""
