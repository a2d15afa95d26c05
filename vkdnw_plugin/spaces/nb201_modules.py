"""The NAS-Bench-201 ``TinyNetwork`` and its ops (same submodules, ``named_parameters()`` order,
state-dict keys and forward as the benchmark's code); :func:`nb201_network` builds one."""

from __future__ import annotations

from torch import nn

from .nb201 import STRING_EDGES, NB201Arch, parse_arch


class ReLUConvBN(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out),
        )

    def forward(self, x):
        return self.op(x)


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


class AvgPool(nn.Module):
    def __init__(self):
        super().__init__()
        self.op = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)

    def forward(self, x):
        return self.op(x)


def _make_op(name: str, channels: int) -> nn.Module:
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, 0)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, 1)
    return AvgPool()


class InferCell(nn.Module):
    """The searched cell: node j sums ``layers[k](node_i)`` over its incoming edges."""

    def __init__(self, arch: NB201Arch, channels: int):
        super().__init__()
        self.layers = nn.ModuleList(_make_op(op, channels) for op in arch.ops)
        self.edges = STRING_EDGES
        self.out_dim = channels

    def forward(self, x):
        nodes = [x]
        for target in (1, 2, 3):
            nodes.append(
                sum(self.layers[k](nodes[src]) for k, (src, dst) in enumerate(self.edges) if dst == target)
            )
        return nodes[-1]


class ResNetBasicblock(nn.Module):
    """The fixed reduction block between stages (stride 2, channels doubled)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, padding=0, bias=False),
        )
        self.out_dim = c_out

    def forward(self, x):
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class TinyNetwork(nn.Module):
    """NAS-Bench-201 macro skeleton: stem, 3 stages of N cells, 2 reduction blocks, head.

    Input ``(B, 3, H, W)``; returns ``(features (B, 4C), logits (B, num_classes))``.
    """

    def __init__(self, arch: NB201Arch, num_classes: int = 10, C: int = 16, N: int = 5):
        super().__init__()
        self.arch = arch
        self.stem = nn.Sequential(nn.Conv2d(3, C, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(C))
        channels = [C] * N + [2 * C] + [2 * C] * N + [4 * C] + [4 * C] * N
        reductions = [False] * N + [True] + [False] * N + [True] + [False] * N
        self.cells = nn.ModuleList()
        c_prev = C
        for c_curr, reduction in zip(channels, reductions):
            cell = ResNetBasicblock(c_prev, c_curr) if reduction else InferCell(arch, c_curr)
            self.cells.append(cell)
            c_prev = c_curr
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, inputs):
        feature = self.stem(inputs)
        for cell in self.cells:
            feature = cell(feature)
        out = self.global_pooling(self.lastact(feature)).flatten(1)
        return out, self.classifier(out)


def nb201_network(arch, num_classes: int = 10, C: int = 16, N: int = 5) -> TinyNetwork:
    """Build the NAS-Bench-201 TinyNetwork for ``arch`` (any spelling :func:`parse_arch` reads)."""
    if num_classes < 1 or C < 1 or N < 1:
        raise ValueError(f"num_classes, C and N must be positive, got {num_classes}, {C}, {N}")
    return TinyNetwork(parse_arch(arch), num_classes=num_classes, C=C, N=N)
