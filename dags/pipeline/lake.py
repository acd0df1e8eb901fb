"""The data lake as a pyarrow filesystem: the same calls for file:// and s3:// URIs.

Layout (docs/architecture.md, "The lake"): raw/<table>/window=<label>/part-*.parquet + _manifest.json. A
manifest is written last; a folder without one is incomplete and readers ignore it. Publishing a window
replaces exactly that window: old manifest removed first, old parts removed, new parts moved in, new
manifest written.
"""

from __future__ import annotations

import json
import os
import posixpath
from dataclasses import dataclass
from urllib.parse import urlparse

import pyarrow.fs as pafs

MANIFEST = "_manifest.json"


@dataclass(frozen=True)
class Lake:
    fs: pafs.FileSystem
    root: str  # path inside fs, no trailing slash
    uri: str  # what the user configured, for messages and manifests

    @classmethod
    def from_uri(cls, uri: str) -> Lake:
        """A lake rooted at `uri` (file:///abs/path, a plain absolute path, or s3://bucket/prefix).

        For S3 the standard AWS environment applies; AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) points it at
        another S3 API, e.g. moto in tests.
        """
        parsed = urlparse(uri)
        if parsed.scheme in ("", "file"):
            path = parsed.path if parsed.scheme else uri
            if not posixpath.isabs(path):
                raise ValueError(f"lake URI {uri!r}: a local lake needs an absolute path")
            return cls(pafs.LocalFileSystem(), path.rstrip("/"), uri)
        if parsed.scheme == "s3":
            endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
            options = {}
            if endpoint:
                endpoint_url = urlparse(endpoint)
                options = {"endpoint_override": endpoint_url.netloc, "scheme": endpoint_url.scheme or "https"}
            region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
            if region:
                options["region"] = region
            fs = pafs.S3FileSystem(**options)
            return cls(fs, f"{parsed.netloc}{parsed.path}".rstrip("/"), uri)
        raise ValueError(f"lake URI {uri!r}: unsupported scheme {parsed.scheme!r} (use file:// or s3://)")

    def path(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts)

    def uri_of(self, path: str) -> str:
        """A path inside the lake as a URI, for logs and manifests."""
        relative = posixpath.relpath(path, self.root)
        return self.uri.rstrip("/") + "/" + relative

    def path_of(self, uri: str) -> str:
        """A URI inside the lake (as uri_of gives, or a Spark job's summary names) as a path of `fs`."""
        base = self.uri.rstrip("/") + "/"
        if not uri.startswith(base):
            raise ValueError(f"{uri!r} is not inside the lake {self.uri!r}")
        return self.path(uri[len(base) :])

    def exists(self, path: str) -> bool:
        return self.fs.get_file_info(path).type != pafs.FileType.NotFound

    def list_files(self, folder: str) -> list[pafs.FileInfo]:
        """Files directly in `folder` (none if it does not exist), sorted by name."""
        if not self.exists(folder):
            return []
        infos = self.fs.get_file_info(pafs.FileSelector(folder, recursive=False))
        return sorted((i for i in infos if i.type == pafs.FileType.File), key=lambda i: i.path)

    def list_dirs(self, folder: str) -> list[str]:
        if not self.exists(folder):
            return []
        infos = self.fs.get_file_info(pafs.FileSelector(folder, recursive=False))
        return sorted(i.base_name for i in infos if i.type == pafs.FileType.Directory)

    def write_json(self, path: str, document: dict) -> None:
        """Writes a JSON document; on a local disk via a temp file and a rename, so it appears whole."""
        data = json.dumps(document, indent=2, sort_keys=True, default=str).encode()
        self.fs.create_dir(posixpath.dirname(path), recursive=True)
        temp = path if isinstance(self.fs, pafs.S3FileSystem) else f"{path}.tmp-{os.getpid()}"
        with self.fs.open_output_stream(temp) as out:
            out.write(data)
        if temp != path:
            self.fs.move(temp, path)

    def read_json(self, path: str) -> dict | None:
        if not self.exists(path):
            return None
        with self.fs.open_input_stream(path) as handle:
            return json.loads(handle.read())

    def copy_dir(self, source: str, target: str) -> None:
        """Copies a folder's files (recursively) to `target`, which must not exist yet."""
        if not isinstance(self.fs, pafs.S3FileSystem):  # S3 has no folders (it would get an empty marker object)
            self.fs.create_dir(target, recursive=True)
        pafs.copy_files(source, target, source_filesystem=self.fs, destination_filesystem=self.fs)

    def delete_dir(self, folder: str) -> None:
        if self.exists(folder):
            self.fs.delete_dir(folder)

    def publish(self, staged_files: list[str], target: str, manifest: dict) -> list[str]:
        """Replaces the partition folder `target` with the staged files, then writes its manifest last."""
        manifest_path = posixpath.join(target, MANIFEST)
        if self.exists(manifest_path):
            self.fs.delete_file(manifest_path)  # from here on readers see the window as incomplete
        self.delete_dir(target)
        self.fs.create_dir(target, recursive=True)
        published = []
        for staged in staged_files:
            destination = posixpath.join(target, posixpath.basename(staged))
            self.fs.move(staged, destination)
            published.append(destination)
        self.write_json(manifest_path, manifest)
        return published

    def manifest(self, folder: str) -> dict | None:
        """The manifest of a partition folder, or None while it is incomplete."""
        return self.read_json(posixpath.join(folder, MANIFEST))
