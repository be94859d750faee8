"""Fit the distribution StyleAugment draws cin style vectors from: mean and covariance of the
style predictor's vectors over a folder of paintings (Jackson et al. 2019, "Style Augmentation").

    python scripts/style_embeddings.py PAINTINGS [--limit N]

Writes `src/stylize_cli/data/style_embeddings.pt` (the mean and the Cholesky factor of the
covariance, fp32, read with weights_only=True), its card `style_embeddings.md`, and its size and
sha256 in the package's `weights_manifest.json`. The vectors are the ones `stylize run` predicts
from a painting (Cin.predict at the default style size, fp32), so a drawn vector lies where
real paintings' vectors lie.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "src" / "stylize_cli" / "data"
sys.path.insert(0, str(ROOT / "src"))
import torch  # noqa: E402
from manifest import record_bundled  # noqa: E402 (scripts/manifest.py)

from stylize_cli.augment import EMBEDDINGS, EMBEDDINGS_FORMAT  # noqa: E402
from stylize_cli.batch import find_inputs  # noqa: E402
from stylize_cli.errors import StylizeError  # noqa: E402
from stylize_cli.images import load_image  # noqa: E402
from stylize_cli.methods import create  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paintings", type=Path)
    parser.add_argument("--limit", type=int, default=None, help="the first N paintings only (a quick check)")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    cin = create("cin", torch.device("cpu"))
    files = find_inputs([args.paintings], recursive=True)[: args.limit]
    vectors, skipped = [], 0
    began = time.perf_counter()
    for i, (path, _) in enumerate(files):
        try:
            vectors.append(cin.predict(load_image(path).rgb)[0])
        except StylizeError:
            skipped += 1
        if i % 500 == 0:
            print(f"{i}/{len(files)} {time.perf_counter() - began:.0f} s", file=sys.stderr)
    z = torch.stack(vectors).double()
    mean = z.mean(0)
    covariance = torch.cov(z.T)
    scale_tril = torch.linalg.cholesky(covariance + 1e-6 * torch.eye(z.shape[1], dtype=z.dtype))
    rows, cols = torch.tril_indices(z.shape[1], z.shape[1])
    out = DATA / "style_embeddings.pt"
    torch.save({"format": EMBEDDINGS_FORMAT, "count": len(vectors), "mean": mean.float(),
                "scale_tril": scale_tril[rows, cols].float()}, out)
    write_card(len(vectors), skipped, mean, covariance, time.perf_counter() - began)
    update_manifest(out)
    print(f"{out}: {len(vectors)} paintings ({skipped} unreadable), {out.stat().st_size} bytes")


def write_card(count: int, skipped: int, mean: torch.Tensor, covariance: torch.Tensor, seconds: float) -> None:
    spread = covariance.diagonal().sqrt()
    (DATA / "style_embeddings.md").write_text(f"""# Style embedding distribution (StyleAugment, cin)

`style_embeddings.pt`: the mean (100 values) and the lower triangle of the Cholesky factor of the
covariance (5,050 values) of the 100-d style vectors that Magenta's style predictor (our PyTorch
port, fp32, each painting's shorter side at 256 px, centre crop) gives {count:,} paintings.
`StyleAugment(method="cin")` draws style vectors from this normal distribution and mixes each with
the photo's own vector by the drawn strength (Jackson et al. 2019, "Style Augmentation: Data
Augmentation via Style Randomization").

- Paintings: a collection of {count:,} artworks ({skipped} unreadable files left out) of many periods and
  media: a few hundred hand-picked from public style-transfer research repositories and WikiArt
  paintings at 224 px. The paintings themselves are not shipped.
- Made by `python scripts/style_embeddings.py PAINTINGS` in {seconds:.0f} s on a CPU
  ({platform.machine()}, torch {torch.__version__}).
- The vectors' mean norm is {mean.norm():.3f}; per-dimension standard deviations run from
  {spread.min():.3f} to {spread.max():.3f} (median {spread.median():.3f}).
- Licence: numbers derived from the predictor (Apache-2.0) and the paintings; no picture can be
  recovered from them.
""")


def update_manifest(path: Path) -> None:
    record_bundled(EMBEDDINGS, "Mean and covariance (Cholesky factor) of Magenta style vectors over a painting "
                   "collection: what StyleAugment draws cin styles from; card: data/style_embeddings.md.",
                   "Apache-2.0", path)


if __name__ == "__main__":
    main()
