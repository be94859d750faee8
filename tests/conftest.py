"""Shared fixtures: real pictures, the optional sample data beside the repository, a real HTTP server.

Plumbing tests use the photos and the painting shipped inside the package, so
they run on any clone. Tests marked `mirror` need `../shared` (more sample
images, Magenta's weights as a download mirror) and skip, saying so, where it
is missing; `gpu` tests skip without CUDA; `slow` marks the end-to-end runs
(`pytest -m "not slow"` is the quick subset).
"""

from __future__ import annotations

import http.server
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from stylize_cli.samples import PAINTING as _PAINTING
from stylize_cli.samples import PHOTOS as _PHOTOS
from stylize_cli.samples import data_path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
IMAGES = SHARED / "images"
WEIGHTS_MIRROR = SHARED / "weights"
#: Shipped in the package (CC0 / public domain, see data/SOURCES.md): chelsea 451x300, astronaut
#: 400x400, rocket 400x267, coffee 400x267; Matisse's Woman with a Hat 310x420.
PHOTOS = tuple(data_path(name) for name in _PHOTOS)
PAINTING = data_path(_PAINTING)


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"needs {path} (the sample data beside the repository), which is not on this machine")
    return path


def sigterm_at(step: int) -> Callable[[Any], None]:
    """A progress callback that sends this process SIGTERM (kill, a cluster's time limit) at `step`."""

    def callback(event: Any) -> None:
        if event.step == step:
            os.kill(os.getpid(), signal.SIGTERM)

    return callback


def default_sigint() -> None:
    """For subprocesses that get a real Ctrl-C: a shell's background job (`pytest &` in a script)
    has SIGINT ignored, and children inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import torch

    for item in items:
        if "mirror" in item.keywords and not SHARED.is_dir():
            item.add_marker(pytest.mark.skip(reason=f"needs {SHARED} (sample images and the weights "
                                                     "mirror), which is not on this machine"))
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(pytest.mark.skip(reason="needs a CUDA GPU"))


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own cache and no mirror/offline settings from the caller."""
    monkeypatch.setenv("STYLIZE_CACHE", str(tmp_path / "cache"))
    for name in ("STYLIZE_MIRROR", "STYLIZE_OFFLINE", "STYLIZE_MAX_PIXELS", "STYLIZE_DEBUG", "STYLIZE_CPU_BF16",
                 "STYLIZE_CHANNELS_LAST"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, Path]:
    """Folders for train-decoder's plumbing from the shipped pictures (never the training sets): three
    photos, an unreadable file and a text file; Matisse and a photo standing in for a second painting."""
    content, style = tmp_path / "photos", tmp_path / "paintings"
    content.mkdir()
    style.mkdir()
    for photo in PHOTOS[:3]:
        shutil.copy(photo, content)
    for painting in (PAINTING, PHOTOS[3]):
        shutil.copy(painting, style)
    (content / "notes.txt").write_text("not an image")
    (content / "broken.jpg").write_bytes(b"\xff\xd8\xff")  # unreadable: skipped with a warning
    return content, style


class Server:
    """A threaded HTTP server over a folder that honours `Range` and logs requests."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        self.ignore_range = False
        self.delay = 0.0  #: seconds spread over each response, to make downloads overlap
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                rng = self.headers.get("Range")
                server.requests.append((self.path, rng))
                target = server.root / self.path.lstrip("/")
                if not target.is_file():
                    self.send_error(404)
                    return
                data = target.read_bytes()
                start = 0
                if rng and not server.ignore_range:
                    start = int(rng.split("=")[1].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                body = data[start:]
                pieces = 10 if server.delay else 1
                step = -(-len(body) // pieces)
                for i in range(0, len(body), step):
                    time.sleep(server.delay / pieces)
                    self.wfile.write(body[i:i + step])

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "www"
    root.mkdir()
    server = Server(root)
    yield server
    server.close()
