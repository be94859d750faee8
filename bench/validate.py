"""Every method on the validation set: the judge's style and content ratios and the hatching measure
(mean, median, worst decile), seconds per picture and peak memory. The README's quality table.

Each run (a method with its defaults, or a labelled setting) stylizes every pair at --size px in a
process of its own, saves the outputs (--save keeps them, for crops) and scores them with
`stylize_cli.evaluate` against the photo and painting. The row "photos" scores the photos
themselves (style 1 and content 0 by definition; their hatching is the floor). "efdm" is an
experiment kept here, not a method: adain's decoder on Exact Feature Distribution Matching.
"neural-style" is the peer neural-style-pt at its defaults (bench/neural_style.py; --peer names its
virtualenv's python; options "gpu": "0" for a CUDA device, "iterations" for a quick check): about 40
minutes a pair on two CPU cores, so split it with --start and --save, which keep what each pair measured.

    STYLIZE_MIRROR=../shared/weights python bench/validate.py [--runs photos adain cin sanet gatys] \\
        [--setting 'adain style 256=adain:{"style_size": 256}'] [--save DIR] [--json out.json]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import ROOT, arguments, as_child, child, excluded, score, summary, table, validation_pairs, write_json

RUNS = {"photos": ("photos", {}), "adain": ("adain", {}), "cin": ("cin", {}), "sanet": ("sanet", {}),
        "gatys": ("gatys", {}), "gatys mobilenet": ("gatys", {"loss_net": "mobilenet"}), "efdm": ("efdm", {}),
        "neural-style": ("neural-style", {})}


def efdm(photo: str, painting: str, size: int, style_size: int = 512) -> Any:
    """adain's decoder on EFDM (Zhang et al. CVPR 2022): each relu4_1 channel of the photo takes the
    painting's values in the photo's rank order (exact histogram matching by sorting)."""
    import torch

    from stylize_cli.images import fit, load_image, to_pil
    from stylize_cli.methods.adain import load_adain

    model = load_adain(torch.device("cpu"))
    with torch.no_grad():
        f = model.encode(fit(load_image(photo).rgb, size, multiple=8))
        s = model.encode(fit(load_image(painting).rgb, style_size))
        n, c, h, w = f.shape
        flat, target = f.reshape(c, -1), s.reshape(c, -1).sort(dim=1).values
        positions = torch.linspace(0, target.shape[1] - 1, flat.shape[1]).round().long()
        out = torch.empty_like(flat).scatter_(1, flat.argsort(dim=1), target[:, positions])
        return to_pil(model.decoder(out.reshape(n, c, h, w)).clamp(0, 1))


def run_pairs(method: str, options: dict[str, Any], size: int, pairs: list[list[str]], out: str,
              start: int = 0) -> list[dict]:
    """The child: stylize and score every pair; one line of progress per pair on stderr."""
    from stylize_cli import Stylizer
    from stylize_cli.devices import use_all_cores
    from stylize_cli.images import save_image

    use_all_cores()
    log = Path(out) / "rows.jsonl"  # what a run stopped early (or another process) measured: kept
    rows = []
    for i, (photo, painting) in enumerate(pairs[start:], start):
        target = Path(out) / f"{i:02d}_{Path(photo).stem}_x_{Path(painting).stem}.png"
        lines = log.read_text().splitlines() if log.is_file() else []
        done = {(r["photo"], r["painting"]): r for r in map(json.loads, lines)}
        if (photo, painting) in done and (method == "photos" or target.is_file()):
            rows.append(done[photo, painting])
            if "style_layers" not in rows[-1]:  # measured before the judge gave it: the last line counts
                rows[-1].update(judged(method, photo, painting, rows[-1]["output"], size))
                append(log, rows[-1])
            continue
        claim = target.with_suffix(".claim")
        if not claimed(claim):
            print(f"{method} {i + 1}/{len(pairs)}: another process is measuring it; left to that one",
                  file=sys.stderr, flush=True)
            continue
        began = time.perf_counter()
        try:
            if method == "photos":
                target = Path(photo)
            elif method == "efdm":
                save_image(efdm(photo, painting, size, **options), target)
            elif method == "neural-style":
                from neural_style import render
                render(photo=photo, painting=painting, size=size, output=target, **options)
            else:
                save_image(Stylizer(painting, method=method, size=size, device="cpu", **options)(photo), target)
        finally:
            claim.unlink(missing_ok=True)
        seconds = time.perf_counter() - began
        rows.append({"photo": photo, "painting": painting, "output": str(target), "seconds": seconds,
                     **judged(method, photo, painting, target, size)})
        append(log, rows[-1])
        print(f"{method} {i + 1}/{len(pairs)} {seconds:.1f} s style {rows[-1]['style']:.3f} "
              f"content {rows[-1]['content']:.3f} hatching {rows[-1]['hatching']:.1f}", file=sys.stderr, flush=True)
    return rows


def append(log: Path, row: dict[str, Any]) -> None:
    """One row more in a run's rows.jsonl; a pair's last line is the one a rerun reads."""
    with open(log, "a") as f:
        f.write(json.dumps(row) + "\n")


def judged(method: str, photo: str, painting: str, output: str | Path, size: int) -> dict[str, Any]:
    """`score`'s figures for one output; for the photos run (whose layers all score 1) style_layers
    holds each layer's part in the style ratio's denominator instead, for the layers table."""
    figures = score(photo, painting, output, size)
    if method == "photos":
        figures["style_layers"] = layer_shares(photo, painting, size)
    return figures


def layer_shares(photo: str, painting: str, size: int) -> dict[str, float]:
    """Each style layer's share of the photo's Gram distance to the painting, which the judge's style
    ratio divides by: where that sum is one layer's, the ratio is that layer's alone."""
    from stylize_cli.images import fit, load_image
    from stylize_cli.losses import Judge
    from stylize_cli.models.vgg import load_vgg19

    judge = Judge(load_vgg19(), fit(load_image(photo).rgb, size), load_image(painting).rgb)
    return {k: v / judge.style_scale for k, v in judge.style_scales.items()}


def claimed(claim: Path) -> bool:
    """Whether this process may measure a pair: two processes splitting a run with --start would
    otherwise both measure the pair one of them is on when the other catches up. A claim whose
    process has died (a run stopped) is taken over."""
    try:
        with open(claim, "x") as f:
            f.write(str(os.getpid()))
        return True
    except FileExistsError:
        try:
            os.kill(int(claim.read_text()), 0)
            return False
        except PermissionError:  # alive, another user's
            return False
        except (ProcessLookupError, ValueError, FileNotFoundError):
            claim.write_text(str(os.getpid()))
            return True


def rescore(run: dict[str, Any], size: int) -> None:
    """The run's figures again from its saved outputs, with the judge as it is now (the hatching
    measure changed once; the style ratio by layer came later)."""
    for row in run["pairs"]:
        row.update(judged(run["method"], row["photo"], row["painting"], row["output"], size))
    run.update({k: summary([r[k] for r in run["pairs"]]) for k in ("style", "content", "hatching")})


def main() -> None:
    if as_child(lambda payload: run_pairs(*json.loads(payload))):
        return
    parser = arguments(__doc__)
    parser.add_argument("--runs", nargs="*", default=["photos", "adain", "cin", "sanet", "gatys"],
                        help=f"from {', '.join(RUNS)}")
    parser.add_argument("--setting", action="append", default=[],
                        help="another run: 'LABEL=METHOD:{JSON options}'")
    parser.add_argument("--save", type=Path,
                        help="keep the outputs here, one folder per run (a rerun measures only the pairs it lacks)")
    parser.add_argument("--start", type=int, default=0,
                        help="begin at this pair: two processes split a long run into one --save folder")
    parser.add_argument("--crops", type=Path, help="a grid of each run's flattest region on the shippable pairs")
    parser.add_argument("--from-json", type=Path, nargs="*", default=[],
                        help="runs measured before (validate.py --json files) to add to the table and crops")
    parser.add_argument("--against", metavar="RUN",
                        help="also count, pair by pair, where each run differs from this one, and its fine detail")
    parser.add_argument("--peer", default=str(ROOT / ".peers" / "bin" / "python"),
                        help="the python of a virtualenv with neural-style 0.5.7, for the neural-style run")
    parser.add_argument("--rescore", action="store_true",
                        help="score the --from-json runs' saved outputs again (the judge gained figures)")
    args = parser.parse_args()
    runs = {name: RUNS[name] for name in args.runs}
    for setting in args.setting:
        label, spec = setting.split("=", 1)
        method, options = spec.split(":", 1)
        runs[label] = (method, json.loads(options))
    runs = {label: (method, {"python": args.peer, **options} if method == "neural-style" else options)
            for label, (method, options) in runs.items()}
    pairs = validation_pairs(args.pairs)
    print(f"{len(pairs)} validation pairs; left out as training pictures: {', '.join(excluded()) or 'none'}",
          file=sys.stderr)
    root = args.save or Path(tempfile.mkdtemp(prefix="stylize-validate-"))
    results = {k: v for path in args.from_json for k, v in json.loads(path.read_text())["runs"].items()}
    if args.rescore:
        for run in results.values():
            rescore(run, args.size)
    for label, (method, options) in runs.items():
        out = root / label.replace(" ", "_")
        out.mkdir(parents=True, exist_ok=True)
        payload = json.dumps([method, options, args.size, [[str(p), str(s)] for p, s in pairs], str(out), args.start])
        rows, mb, _ = child(__file__, "--child", payload)
        results[label] = {"method": method, "options": options, "peak_mb": mb, "pairs": rows,
                          **{k: summary([r[k] for r in rows]) for k in ("style", "content", "hatching", "seconds")}}
    print(f"\n{len(pairs) - args.start} validation pairs at {args.size} px; mean / median / worst decile "
          "(lower is better)\n")
    print(table(["run", "style", "content", "hatching", "s per picture", "peak RSS"],
                [[label, _three(r["style"]), _three(r["content"]), _three(r["hatching"], 1),
                  f"{r['seconds']['mean']:.2f}", f"{r['peak_mb']:.0f} MB"] for label, r in results.items()]))
    layered = {label: r for label, r in results.items() if all("style_layers" in row for row in r["pairs"])}
    if layered:
        layers = list(next(iter(layered.values()))["pairs"][0]["style_layers"])
        print("\nThe style ratio layer by layer (mean over the pairs; for photos, each layer's share of the "
              "photo's distance, which the ratio divides by)\n")
        print(table(["run", *layers], [[label, *(sum(row["style_layers"][k] for row in r["pairs"]) / len(r["pairs"])
                                                 for k in layers)] for label, r in layered.items()]))
    if args.against:
        against(results, args.against)
    write_json(args.json, {"size": args.size, "pairs": [[str(p), str(s)] for p, s in pairs], "runs": results})
    if args.crops:
        crops(results, args.crops)


#: pictures that may ship (../shared/images/README.md): only these appear in crops kept in the repository
SHIPPABLE = {"astronaut.png", "rocket.jpg", "chelsea.png", "coffee.png", "the_resevoir_at_poitiers.jpg",
             "woman_with_hat_matisse.jpg", "scene_de_rue.jpg", "contrast_of_forms.jpg", "mondrian_cropped.jpg"}
CROP = 128
STEP = 16  #: crops: candidate windows this many px apart


def crops(results: dict[str, Any], path: Path) -> None:
    """Rows: runs; columns: the shippable pairs; each tile the CROP px window of the output (at 512 px)
    where the photo is flattest, labelled with the run and the picture's hatching."""
    from stylize_cli import ops
    from stylize_cli.images import fit, load_image, to_pil
    from stylize_cli.sheet import grid

    tiles = []
    columns = 0
    for label, run in results.items():
        chosen = [r for r in run["pairs"] if {Path(r["photo"]).name, Path(r["painting"]).name} <= SHIPPABLE]
        columns = len(chosen)
        for r in chosen:
            photo = fit(load_image(r["photo"]).rgb, 512)
            flattest = int(ops.flattest(ops.patches(photo, CROP, stride=STEP))[0, 0])
            row, column = divmod(flattest, (photo.shape[-1] - CROP) // STEP + 1)  # the windows' grid, row by row
            y, x = row * STEP, column * STEP
            out = fit(load_image(r["output"]).rgb, 512)
            tile = out[..., y:y + CROP, x:x + CROP]
            tiles.append((f"{label}: {r['hatching']:.1f}", to_pil(tile).resize((2 * CROP, 2 * CROP), 0)))
    grid(tiles, columns).save(path, quality=90)


def against(results: dict[str, Any], base: str) -> None:
    """Pair by pair against run `base`: on how many pairs each run is worse in style, better in content,
    lower in hatching, and its fine detail relative to the base's (mean over the pairs): a run can
    move a mean little and still lose on most pairs, and a decoder that smooths every stroke scores
    a worse style ratio however little its pixels move."""
    if base not in results:
        raise SystemExit(f"--against {base}: not among the runs ({', '.join(results)})")
    reference = {(r["photo"], r["painting"]): r for r in results[base]["pairs"]}
    base_detail = {r["output"]: detail(r["output"]) for r in reference.values()}
    rows = []
    for label, run in results.items():
        shared = [(r, reference[r["photo"], r["painting"]]) for r in run["pairs"]
                  if label != base and (r["photo"], r["painting"]) in reference]
        if shared:
            ratios = [detail(r["output"]) / base_detail[b["output"]] for r, b in shared]
            rows.append([label, len(shared), sum(r["style"] > b["style"] for r, b in shared),
                         sum(r["content"] < b["content"] for r, b in shared),
                         sum(r["hatching"] < b["hatching"] for r, b in shared),
                         f"{sum(ratios) / len(ratios):.3f}", sum(x < 1 for x in ratios)])
    print(f"\nPair by pair against {base} (fine detail: the luminance left after a 5 px box blur, RMS, "
          f"as a ratio to {base}'s)\n")
    print(table(["run", "pairs", "style worse", "content better", "hatching lower", "fine detail",
                 "less detail"], rows))


def detail(path: str | Path) -> float:
    from stylize_cli.images import load_image
    from stylize_cli.ops import high_pass, rgb_to_yiq

    return float(high_pass(rgb_to_yiq(load_image(path).rgb)[:, :1], 5).pow(2).mean().sqrt())


def _three(s: dict[str, float], digits: int = 3) -> str:
    return " / ".join(f"{s[k]:.{digits}f}" for k in ("mean", "median", "worst10"))


if __name__ == "__main__":
    main()
