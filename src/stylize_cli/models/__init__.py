"""Networks as small nn.Modules; weights are loaded by the functions beside them."""
