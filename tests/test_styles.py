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


def test_built_in_network_styles_ship_their_verified_weights() -> None:
    """At least three famous paintings are also networks; each file is there and matches its sha256."""
    from stylize_cli.models.style_network import StyleNetwork

    networks = [find(name) for name in FAMOUS if find(name).kind == "network"]
    assert len(networks) >= 3, [s.name for s in networks]
    for style in networks:
        assert isinstance(style.network_weights(), StyleNetwork)  # sha256 checked before loading
        assert "then" in style.made_by and "network" in style.made_by, style.made_by
