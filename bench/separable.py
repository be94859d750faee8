"""Should stylize build Magenta's separable transformer as a second CIN network?

The TF.js separable transformer (manifest entry magenta-arbitrary-separable) has
about 3x the parameters of the mobile transfer network we ship, and it does not
accept the predictor's vectors, so it is only useful with vectors learned for
it. This script answers the issue's question by measurement: it runs the TF.js
graph with a small PyTorch interpreter (differentiable, so train-style's own
objective can fit vectors through it), learns a vector for each test painting
on both networks with the same recipe, and scores both with the judge (Gram
style ratio at 512 px on unseen photos, lower is more stylized; content ratio
alongside).

    STYLIZE_MIRROR=../shared/weights python bench/separable.py [--steps 100] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from stylize_cli import weights
from stylize_cli.devices import pick_device
from stylize_cli.images import fit, load_image
from stylize_cli.losses import judge
from stylize_cli.methods.cin import Cin, CinConfig
from stylize_cli.models.vgg import load_vgg19
from stylize_cli.train.style import TrainStyleConfig, load_photos, train_style

IMAGES = Path(__file__).resolve().parents[2] / "shared" / "images"
#: Only this bench uses the separable transformer, so its entry lives here, not in the package's manifest.
MANIFEST = Path(__file__).with_name("separable_manifest.json")
PAINTINGS = ["the_resevoir_at_poitiers.jpg", "scene_de_rue.jpg", "contrast_of_forms.jpg"]
PHOTOS = ["golden_gate.jpg", "cornell.jpg", "chicago.jpg"]


class GraphNet(torch.nn.Module):
    """Executes a TF.js graph (NHWC) with torch ops; inputs: content and the 1x1x1x100 vector."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        model = json.loads((folder / "model.json").read_text())
        self.nodes = model["modelTopology"]["node"]
        raw = (folder / "group1-shard1of1").read_bytes()
        self.consts: dict[str, torch.Tensor] = {}
        offset = 0
        for spec in model["weightsManifest"][0]["weights"]:
            count = int(np.prod(spec["shape"])) if spec["shape"] else 1
            dtype = np.int32 if spec["dtype"] == "int32" else np.float32
            array = np.frombuffer(raw, dtype, count, offset).reshape(spec["shape"])
            self.consts[spec["name"]] = torch.from_numpy(array.copy())
            offset += 4 * count
        self.output = next(n["name"] for n in self.nodes if n["op"] == "Sigmoid")

    def norm_params(self, vector: torch.Tensor) -> torch.Tensor:
        return vector.view(1, 1, 1, -1)  # the graph computes gamma/beta from the vector itself

    def forward(self, content: torch.Tensor, vector: torch.Tensor) -> torch.Tensor:
        vals: dict[str, torch.Tensor] = {"Placeholder": content.permute(0, 2, 3, 1), "Placeholder_1": vector}
        for node in self.nodes:
            if node["op"] in ("Const", "Placeholder"):
                continue
            ins = [vals[i] if i in vals else self.consts[i] for i in node.get("input", [])]
            vals[node["name"]] = self._op(node["op"], node.get("attr", {}), ins)
        h, w = content.shape[-2:]  # the graph rounds sides up to a multiple of 4
        return vals[self.output].permute(0, 3, 1, 2)[..., :h, :w]

    @staticmethod
    def _op(op: str, attr: dict, x: list[torch.Tensor]) -> torch.Tensor:
        def ints(key: str) -> list[int]:
            return [int(v) for v in attr[key]["list"]["i"]]

        if op in ("Conv2D", "DepthwiseConv2dNative"):
            stride, dilation = ints("strides")[1], ints("dilations")[1]
            padding = bytes(attr["padding"]["s"]).decode()
            w = x[1].permute(3, 2, 0, 1) if op == "Conv2D" else x[1].permute(2, 3, 0, 1)
            groups = 1 if op == "Conv2D" else x[0].shape[-1]
            inp = x[0].permute(0, 3, 1, 2)
            if padding == "SAME":  # only ever with 1x1 kernels or stride 1 in this graph
                k = (w.shape[-1] - 1) * dilation + 1
                inp = F.pad(inp, [(k - 1) // 2, k // 2, (k - 1) // 2, k // 2])
            return F.conv2d(inp, w, stride=stride, dilation=dilation, groups=groups).permute(0, 2, 3, 1)
        if op == "Pad":
            p = x[1].tolist()
            return F.pad(x[0], [p[3][0], p[3][1], p[2][0], p[2][1], p[1][0], p[1][1]])
        if op == "FusedBatchNorm":
            eps = attr["epsilon"]["f"]
            return (x[0] - x[3]) * torch.rsqrt(x[4] + eps) * x[1] + x[2]
        if op == "Mean":
            return x[0].mean(dim=[int(d) for d in x[1].tolist()], keepdim=attr.get("keep_dims", {}).get("b", False))
        if op == "Squeeze":
            return x[0].reshape(x[0].shape[0], -1)
        if op == "ExpandDims":
            return x[0].unsqueeze(int(x[1]))
        if op == "Shape":
            return torch.tensor(x[0].shape, dtype=torch.int32)
        if op == "StridedSlice":
            return x[0][int(x[1][0])]
        if op == "Pack":
            return torch.stack([t.reshape(()) for t in x])
        if op == "ResizeNearestNeighbor":
            size = [int(v) for v in x[1].tolist()]
            return F.interpolate(x[0].permute(0, 3, 1, 2), size=size, mode="nearest").permute(0, 2, 3, 1)
        simple = {"BiasAdd": lambda: x[0] + x[1], "Add": lambda: x[0] + x[1], "Sub": lambda: x[0] - x[1],
                  "Mul": lambda: x[0] * x[1], "SquaredDifference": lambda: (x[0] - x[1]) ** 2,
                  "Rsqrt": lambda: torch.rsqrt(x[0]), "Relu": lambda: F.relu(x[0]),
                  "Sigmoid": lambda: torch.sigmoid(x[0])}
        return simple[op]()


def learned(transfer: torch.nn.Module, painting: torch.Tensor, cin: Cin, steps: int, lr: float) -> torch.Tensor:
    config = TrainStyleConfig(steps=steps, learning_rate=lr)
    original = cin.transfer
    cin.transfer = transfer  # the same objective and optimizer, through the other network
    try:
        with tempfile.TemporaryDirectory() as tmp:
            result = train_style(painting, load_photos(None, config, print), config, cin.device,
                                 Path(tmp) / "ck.pt", cin=cin)
    finally:
        cin.transfer = original
    return result.vector.view(1, -1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.01, help="Adam learning rate (train-style's default)")
    parser.add_argument("--networks", nargs="+", default=["mobile", "separable"])
    parser.add_argument("--paintings", nargs="+", default=PAINTINGS)
    parser.add_argument("--save", type=Path, help="write each network's first 512 px output here")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    device = pick_device("cpu")
    folder = weights.fetch("magenta-arbitrary-separable", manifest=weights.load_manifest(MANIFEST))
    separable = GraphNet(folder).eval().requires_grad_(False)
    cin = Cin(CinConfig(), device)
    vgg = load_vgg19()
    nets = {k: v for k, v in {"mobile": cin.transfer, "separable": separable}.items() if k in args.networks}
    params = {name: sum(p.numel() for p in net.parameters()) or sum(t.numel() for t in net.consts.values())
              for name, net in nets.items()}
    rows = []
    for painting_name in args.paintings:
        painting = load_image(IMAGES / "style" / painting_name).rgb
        for name, net in nets.items():
            start = time.perf_counter()
            vector = learned(net, painting, cin, args.steps, args.lr)
            train_s = time.perf_counter() - start
            scores = []
            for photo_name in PHOTOS:
                photo = fit(load_image(IMAGES / "content" / photo_name).rgb, 512)
                with torch.no_grad():
                    out = net(photo, net.norm_params(vector))
                scores.append(judge(vgg, out, photo, painting))
                if args.save and len(scores) == 1:
                    from stylize_cli.images import to_pil

                    args.save.mkdir(parents=True, exist_ok=True)
                    to_pil(out).save(args.save / f"{Path(painting_name).stem}_{name}.jpg")
            rows.append({"painting": painting_name, "network": name, "train_s": train_s,
                         "style_ratio": statistics.fmean(s["style_ratio"] for s in scores),
                         "content_ratio": statistics.fmean(s["content_ratio"] for s in scores)})
            print(json.dumps(rows[-1]), flush=True)
    print(f"\nlearned vectors ({args.steps} train-style steps, lr {args.lr}), judged at 512 px on {len(PHOTOS)} photos")
    print(f"{'painting':<30} {'network':<10} {'style ratio':>11} {'content ratio':>13} {'train s':>8}")
    for r in rows:
        print(f"{r['painting']:<30} {r['network']:<10} {r['style_ratio']:>11.3f} {r['content_ratio']:>13.3f} "
              f"{r['train_s']:>8.0f}")
    for name in nets:
        mine = [r for r in rows if r["network"] == name]
        print(f"{name:<10} mean style ratio {statistics.fmean(r['style_ratio'] for r in mine):.3f}, "
              f"content ratio {statistics.fmean(r['content_ratio'] for r in mine):.3f}, {params[name]:,} parameters")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "parameters": params, "steps": args.steps, "lr": args.lr},
                                        indent=2))


if __name__ == "__main__":
    main()
