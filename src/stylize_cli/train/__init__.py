"""Training commands: new styles (style.py), decoders (decoder.py, with adain.py and sanet.py)."""
