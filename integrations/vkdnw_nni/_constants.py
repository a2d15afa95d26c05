"""The NNI spaces this adapter scores, shared by the light (tuner) and heavy (evaluator, NAS strategy)
modules; no torch here."""

SPACES = ("nb201", "proxylessnas")
