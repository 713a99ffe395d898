"""The package version, in a module of its own so that modules below the package root (the training
loop records it in checkpoints) can read it without importing the root, which imports the API."""

__version__ = "0.1.0"
