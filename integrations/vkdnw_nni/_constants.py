"""Constants shared by the light (tuner) and heavy (evaluator, NAS strategy) modules; no torch here."""

# The paper's VKDNW_agg: VKDNW_single aggregated with jacov, AZ-NAS expressivity and trainability, FLOPs.
DEFAULT_COMPONENTS = ("vkdnw", "jacov", "az_expressivity", "az_trainability", "flops")
SPACES = ("nb201", "proxylessnas")
NB201_DATASETS = {"cifar10": (10, 32), "cifar100": (100, 32), "ImageNet16-120": (120, 16)}
