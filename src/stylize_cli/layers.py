"""VGG-19's layer names and the layer choices the papers made, in one vocabulary.

Every loss, method config and the judge name layers from here, so `relu4_1` is
written once with its meaning. No torch: the command line shows these defaults
without loading it.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

BLOCKS = ((64, 2), (128, 2), (256, 4), (512, 4), (512, 4))  #: (channels, convs) per block


def _names() -> tuple[str, ...]:
    names = []
    for block, (_, convs) in enumerate(BLOCKS, start=1):
        for i in range(1, convs + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return tuple(names)


#: Every layer of VGG-19 in order, named as the papers do (`conv1_1`, `relu4_2`, `pool3`).
LAYERS = _names()

#: Gatys et al. 2016: style as Gram matrices at the first relu of each block, content at relu4_2.
#: Also what the judge and train-style measure.
GRAM_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
GRAM_CONTENT_LAYER = "relu4_2"
#: gatys's style: the paper's layers less relu5_1, whose Gram matrices carry the painting's largest
#: shapes (a sheet's edge, a figure) into the photo. Without it the validation set kept much more of
#: the photo at the same style ratio (bench/README.md, 'The validation set').
GATYS_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")

#: Huang & Belongie 2017: the encoder ends at relu4_1, where AdaIN acts and content is measured;
#: style as channel mean/std at relu1_1..relu4_1.
ADAIN_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
ADAIN_LAYER = "relu4_1"

#: MobileNet-v2 (the trunk of Magenta's style predictor) as a loss network: the picture itself ("rgb",
#: whose Gram matrix is its colour covariance, Gatys et al.'s "layer 0"), the stem and the end of each
#: stage of inverted residual blocks, named by stage and channels. A residual network's analogues of
#: relu1_1..relu5_1 are the block outputs at each resolution (1/2 .. 1/32).
MOBILENET_LAYERS = ("rgb", "stem_32", "stage1_16", "stage2_24", "stage3_32", "stage4_64", "stage5_96",
                    "stage6_160", "stage7_320")
#: Style up to 1/8 resolution, content at 1/8 (the resolution of relu4_1/relu4_2): the deeper stages
#: made the judge's style and content ratios worse, and cost time (bench/swag.py).
MOBILENET_STYLE_LAYERS = ("rgb", "stem_32", "stage2_24", "stage3_32")
MOBILENET_CONTENT_LAYER = "stage3_32"

#: The judge (`losses.judge`, `stylize eval`): every picture seen at this long side unless asked otherwise.
JUDGE_SIZE = 512


def did_you_mean(name: str, known: Sequence[str]) -> str:
    """"; did you mean 'relu4_1'?" for a mistyped layer name (empty when none is close): one hint for
    the method configs' usage errors and the networks' own guards."""
    hint = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean '{hint[0]}'?" if hint else ""
