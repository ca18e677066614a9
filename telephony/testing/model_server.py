"""A loopback HTTP server standing in for the Vosk model site in tests: a ``model-list.json``
catalogue and model zips, with HTTP Range (resumable downloads) and a switch that breaks a
download off after some bytes."""

from __future__ import annotations

import hashlib
import json
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def zip_model(model_dir: Path, archive: Path, top: str) -> Path:
    """Zip *model_dir* as the catalogue ships models: one top directory *top* (stored, fast)."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as bundle:
        for path in sorted(model_dir.rglob("*")):
            if path.is_file():
                bundle.write(path, f"{top}/{path.relative_to(model_dir)}")
    return archive


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class ModelSite:
    """What the server serves and what it saw: files by URL path, the Range headers asked."""

    files: dict[str, Path] = field(default_factory=dict)
    catalogue: list[dict[str, object]] = field(default_factory=list)
    break_after: int | None = None  # the next file download stops after this many bytes
    ranges: list[str] = field(default_factory=list)
    port: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def catalogue_url(self) -> str:
        return f"{self.base}/model-list.json"

    def add_model(self, archive: Path, lang: str, name: str, **overrides: object) -> None:
        """Serve *archive* and list it in the catalogue (*overrides*: e.g. a wrong md5)."""
        self.files[f"/{archive.name}"] = archive
        entry: dict[str, object] = {
            "lang": lang,
            "lang_text": lang,
            "md5": md5_of(archive),
            "name": name,
            "obsolete": "false",
            "size": archive.stat().st_size,
            "size_text": f"{archive.stat().st_size / 2**20:.1f}MiB",
            "type": "small",
            "url": f"{self.base}/{archive.name}",
            "version": "0.1",
        }
        entry.update(overrides)
        self.catalogue.append(entry)


def _handler(site: ModelSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/model-list.json":
                body = json.dumps(site.catalogue).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            path = site.files.get(self.path)
            if path is None:
                self.send_error(404)
                return
            size = path.stat().st_size
            start = 0
            asked = self.headers.get("Range")
            if asked:
                site.ranges.append(asked)
                start = int(asked.removeprefix("bytes=").split("-")[0])
                if start >= size:
                    self.send_error(416)
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(size - start))
            self.end_headers()
            limit, site.break_after = site.break_after, None
            with path.open("rb") as handle:
                handle.seek(start)
                sent = 0
                while block := handle.read(1 << 16):
                    if limit is not None and sent + len(block) > limit:
                        self.wfile.write(block[: limit - sent])
                        self.close_connection = True
                        return
                    self.wfile.write(block)
                    sent += len(block)

    return Handler


@contextmanager
def model_site() -> Iterator[ModelSite]:
    """A running `ModelSite` on a free loopback port."""
    site = ModelSite()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    site.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="model-site", daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
