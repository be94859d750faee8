"""Average the weights of one train-decoder run's kept decoders into one decoder file.

    python scripts/average_decoders.py OUT.decoder.pt RUN.23700.decoder.pt RUN.23750.decoder.pt ...

With `stylize train-decoder --keep-every N`, a run leaves a decoder every N steps; their mean is
judged like any decoder (`bench/validate.py --setting 'avg=adain:{"decoder": "OUT.decoder.pt"}'`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from stylize_cli.errors import InputError  # this checkout's package, after the path
from stylize_cli.train.decoder_state import DecoderCheckpoint, average


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="the decoder file to write")
    parser.add_argument("decoders", type=Path, nargs="+", help="decoder files or training checkpoints of one run")
    args = parser.parse_args()
    try:
        mean = average([DecoderCheckpoint.load(p) for p in args.decoders])
        mean.save_decoder(args.out)
    except InputError as e:
        raise SystemExit(f"average_decoders: {e}") from None
    print(f"{args.out}: the mean of steps {', '.join(map(str, mean.record.config['averaged_steps']))}")


if __name__ == "__main__":
    main()
