"""Training commands: new styles (style.py), the AdaIN decoder (decoder.py), SANet (sanet.py)."""
