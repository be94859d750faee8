"""Training commands: learning new styles (and, later, the AdaIN decoder)."""
