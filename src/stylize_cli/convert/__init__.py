"""Readers of foreign checkpoint formats, turning them into PyTorch state dicts."""
