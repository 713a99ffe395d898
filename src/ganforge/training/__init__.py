"""The generic training loop and what it needs: EMA, checkpoints, logging, the Fabric wrapper."""
