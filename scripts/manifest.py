"""The one way the scripts that ship a file record it in `weights_manifest.json`: an entry of a file
bundled in the package, with its size and sha256 (what `stylize` checks before loading it)."""

from __future__ import annotations

import json
from pathlib import Path

from stylize_cli.weights import sha256_of

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "weights_manifest.json"
PACKAGE = ROOT / "src" / "stylize_cli"


def record_bundled(name: str, description: str, licence: str, file: Path) -> None:
    """Replace (or add) the entry `name` for `file`, which lies in the package's folder."""
    manifest = json.loads(MANIFEST.read_text())
    entry = {"name": name, "description": description, "licence": licence, "package": "stylize_cli",
             "bundled": True, "files": [{"path": file.relative_to(PACKAGE).as_posix(), "urls": [],
                                         "size": file.stat().st_size, "sha256": sha256_of(file)}]}
    manifest["weights"] = [w for w in manifest["weights"] if w["name"] != name] + [entry]
    MANIFEST.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
