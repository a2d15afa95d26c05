"""vkdnw-plugin: the VKDNW zero-cost NAS proxy (Týbl & Neumann, CVPR 2025), fast on CPU."""

__version__ = "0.1.0"
