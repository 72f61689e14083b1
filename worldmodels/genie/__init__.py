"""Genie (Bruce et al. 2024): video tokenizer, latent action model and MaskGIT dynamics for procgen games."""
