"""The built-in gallery: the famous paintings are there under the names users type, with their records."""

from __future__ import annotations

from stylize_cli.styles import NETWORK, STYLE_DIM, find

FAMOUS = {"starry-night": "The Starry Night", "the-scream": "The Scream", "great-wave": "The Great Wave",
          "composition-vii": "Composition VII", "udnie": "Udnie", "water-lilies": "Water Lilies",
          "impression-sunrise": "Impression, Sunrise"}


def test_the_famous_paintings_are_built_in_styles() -> None:
    for name, title in FAMOUS.items():
        style = find(name)
        assert style.origin == "built-in" and style.network == NETWORK and len(style.vector) == STYLE_DIM
        assert title in style.source and style.licence == "public domain", (name, style.source, style.licence)
        assert "make_gallery.py" in style.made_by and "steps" in style.made_by, style.made_by
