"""Diffusion pieces shared across models: EDM preconditioning and the Karras sampler (DIAMOND),
DDIM with v-prediction (Oasis)."""
