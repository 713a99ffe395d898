from ganforge.registry import Registry

MODELS: Registry = Registry("model family")
