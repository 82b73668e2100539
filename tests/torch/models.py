"""The two networks of docs/models.md in PyTorch, with exactly its parameter names.

These are the reference the C engine is checked against (check_models.py) and the proof
that checkpoints are interchangeable (check_roundtrip.py). Written from that page alone:

  pspnet(in_channels=1, classes=4)            ResNet-18 backbone, dilated, output stride 8,
                                              pyramid pooling (bins 1, 2, 3, 6), bottleneck,
                                              classifier, bilinear resize to the input size
  unet(in_channels=1, classes=4, width=64)    4 poolings, base width F

Every ReLU is a module named after the BN that feeds it (relu1 after bn1, relu after bn;
in a BasicBlock relu2 follows bn2 + identity): parameter-free, so the state_dict is
unchanged, but check_models.py can see each ReLU's input.

Run as a script to print each model's state_dict and layer table and check the names
against docs/models.md's layer tables:  /usr/bin/python3 tests/torch/models.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def resize(x, size):
    """Bilinear resize to an explicit size, align_corners=False (docs/models.md,
    "Conventions")."""
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


# ---- PSPNet with a ResNet-18 backbone ----

class BasicBlock(nn.Module):
    """torchvision's BasicBlock: conv1 (carries the stride) -> bn1 -> ReLU -> conv2 -> bn2,
    plus identity or downsample (1x1 conv, same stride, then BN); add; ReLU."""

    def __init__(self, cin, cout, stride=1, dilation=1, downsample=False):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation,
                               dilation=dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=dilation,
                               dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu1, self.relu2 = nn.ReLU(), nn.ReLU()
        self.downsample = None
        if downsample:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu2(out + identity)


class PPMBranch(nn.Module):
    """AdaptiveAvgPool(bin) -> 1x1 conv 512->128 with bias -> BN -> ReLU (resized by the caller)."""

    def __init__(self, bin_size, cin=512, cout=128):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(bin_size)
        self.conv = nn.Conv2d(cin, cout, 1, bias=True)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(self.pool(x))))


class ConvBNReLU(nn.Module):
    """The bottleneck: conv 3x3 1024->256, pad 1, with bias; BN; ReLU."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=True)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class PSPNet(nn.Module):
    BINS = (1, 2, 3, 6)

    def __init__(self, in_channels=1, classes=4):
        super().__init__()
        self.in_channels, self.classes = in_channels, classes
        self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu1 = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = nn.Sequential(BasicBlock(64, 64), BasicBlock(64, 64))
        self.layer2 = nn.Sequential(BasicBlock(64, 128, stride=2, downsample=True),
                                    BasicBlock(128, 128))
        # Dilated stages: every 3x3 conv stride 1 (output stride stays 8).
        self.layer3 = nn.Sequential(BasicBlock(128, 256, dilation=2, downsample=True),
                                    BasicBlock(256, 256, dilation=2))
        self.layer4 = nn.Sequential(BasicBlock(256, 512, dilation=4, downsample=True),
                                    BasicBlock(512, 512, dilation=4))
        self.ppm = nn.ModuleList([PPMBranch(b) for b in self.BINS])
        self.bottleneck = ConvBNReLU(512 + 128 * len(self.BINS), 256)
        self.classifier = nn.Conv2d(256, classes, 1, bias=True)

    def forward(self, x):
        size = x.shape[-2:]
        f = self.maxpool(self.relu1(self.bn1(self.conv1(x))))
        f = self.layer4(self.layer3(self.layer2(self.layer1(f))))
        fsize = f.shape[-2:]
        pyramid = [f] + [resize(branch(f), fsize) for branch in self.ppm]
        y = self.bottleneck(torch.cat(pyramid, dim=1))
        return resize(self.classifier(y), size)


# ---- UNet ----

class DoubleConv(nn.Module):
    """conv1 3x3 pad 1 with bias -> bn1 -> ReLU -> conv2 -> bn2 -> ReLU."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=True)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=True)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu1, self.relu2 = nn.ReLU(), nn.ReLU()

    def forward(self, x):
        x = self.relu1(self.bn1(self.conv1(x)))
        return self.relu2(self.bn2(self.conv2(x)))


class UNet(nn.Module):
    def __init__(self, in_channels=1, classes=4, width=64):
        super().__init__()
        w = width
        self.in_channels, self.classes, self.width = in_channels, classes, width
        self.pool = nn.MaxPool2d(2, stride=2)
        self.enc1 = DoubleConv(in_channels, w)
        self.enc2 = DoubleConv(w, 2 * w)
        self.enc3 = DoubleConv(2 * w, 4 * w)
        self.enc4 = DoubleConv(4 * w, 8 * w)
        self.bottom = DoubleConv(8 * w, 16 * w)
        self.dec4 = DoubleConv(8 * w + 16 * w, 8 * w)
        self.dec3 = DoubleConv(4 * w + 8 * w, 4 * w)
        self.dec2 = DoubleConv(2 * w + 4 * w, 2 * w)
        self.dec1 = DoubleConv(w + 2 * w, w)
        self.head = nn.Conv2d(w, classes, 1, bias=True)

    @staticmethod
    def join(skip, below):
        """concat [skip, bilinear resize of `below` to the skip's size]."""
        return torch.cat([skip, resize(below, skip.shape[-2:])], dim=1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        e3 = self.enc3(self.pool(e2))
        e4 = self.enc4(self.pool(e3))
        b = self.bottom(self.pool(e4))
        d4 = self.dec4(self.join(e4, b))
        d3 = self.dec3(self.join(e3, d4))
        d2 = self.dec2(self.join(e2, d3))
        d1 = self.dec1(self.join(e1, d2))
        return self.head(d1)


def build(arch, in_channels=1, classes=4, width=64):
    if arch == "pspnet":
        return PSPNet(in_channels, classes)
    if arch == "unet":
        return UNet(in_channels, classes, width)
    raise ValueError(f"unknown arch {arch!r}")


# ---- the layer tables, typed in from docs/models.md ("Layer numbering") ----

def spec_layers(arch):
    """[(k, conv, bn)] for the numbered layers, then ('head', classifier, None)."""
    if arch == "pspnet":
        rows = [("conv1", "bn1")]
        for stage in (1, 2, 3, 4):
            for block in (0, 1):
                p = f"layer{stage}.{block}"
                rows += [(p + ".conv1", p + ".bn1"), (p + ".conv2", p + ".bn2")]
                if block == 0 and stage > 1:
                    rows.append((p + ".downsample.0", p + ".downsample.1"))
        rows += [(f"ppm.{i}.conv", f"ppm.{i}.bn") for i in range(4)]
        rows.append(("bottleneck.conv", "bottleneck.bn"))
        head = "classifier"
    else:
        rows = []
        for block in ("enc1", "enc2", "enc3", "enc4", "bottom", "dec4", "dec3", "dec2", "dec1"):
            rows += [(block + ".conv1", block + ".bn1"), (block + ".conv2", block + ".bn2")]
        head = "head"
    return [(k + 1, c, b) for k, (c, b) in enumerate(rows)] + [("head", head, None)]


# Spot checks against docs/models.md's printed PSPNet table (k -> conv).
SPEC_PSPNET_ROWS = {1: "conv1", 2: "layer1.0.conv1", 8: "layer2.0.downsample.0",
                    13: "layer3.0.downsample.0", 14: "layer3.1.conv1", 18: "layer4.0.downsample.0",
                    20: "layer4.1.conv2", 21: "ppm.0.conv", 24: "ppm.3.conv", 25: "bottleneck.conv"}


def expected_names(arch):
    """Every state_dict key docs/models.md implies, from the layer table alone."""
    names = set()
    for k, conv, bn in spec_layers(arch):
        names.add(conv + ".weight")
        has_bias = (k == "head" or conv.startswith(("ppm.", "bottleneck.")) or arch == "unet")
        if has_bias:
            names.add(conv + ".bias")
        if bn:
            names |= {bn + s for s in (".weight", ".bias", ".running_mean", ".running_var",
                                       ".num_batches_tracked")}
    return names


def check_names(model, arch):
    """Raise unless the model's state_dict keys are exactly docs/models.md's names."""
    got, want = set(model.state_dict()), expected_names(arch)
    if got != want:
        raise AssertionError(f"{arch}: missing {sorted(want - got)}, extra {sorted(got - want)}")
    layers = spec_layers(arch)
    if arch == "pspnet":
        assert len(layers) == 26, len(layers)
        for k, conv in SPEC_PSPNET_ROWS.items():
            assert layers[k - 1][1] == conv, (k, layers[k - 1], conv)
    else:
        assert len(layers) == 19, len(layers)


def layer_order_in_forward(model, x):
    """The convs that feed a BatchNorm, in the order forward runs them (layer numbering)."""
    names = {m: n for n, m in model.named_modules()}
    order, hooks = [], []
    for n, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(lambda mod, i, o: order.append(names[mod])))
    with torch.no_grad():
        model.eval()(x)
    for h in hooks:
        h.remove()
    return order


def print_model(arch, **kw):
    m = build(arch, **kw)
    check_names(m, arch)
    print(f"== {arch} {kw}: {sum(p.numel() for p in m.parameters())} parameters")
    for name, t in m.state_dict().items():
        print(f"  {name:40s} {str(t.dtype).replace('torch.', ''):8s} {list(t.shape)}")
    print(f"  layer table ({len(spec_layers(arch)) - 1} numbered + head):")
    for k, conv, bn in spec_layers(arch):
        w = m.state_dict()[conv + ".weight"]
        print(f"  {str(k):>4s}  {conv:26s} {bn or '':26s} {list(w.shape)}")
    return m


if __name__ == "__main__":
    x = torch.randn(2, 1, 64, 48)
    for arch, kw in (("pspnet", {}), ("unet", {"width": 8})):
        m = print_model(arch, **kw)
        y = m.eval()(x)
        assert y.shape == (2, 4, 64, 48), y.shape
        # Forward order of the convs equals docs/models.md's numbering (then the head).
        order = layer_order_in_forward(m, x)
        want = [c for _, c, _ in spec_layers(arch)]
        assert order == want, (order, want)   # (BasicBlock runs downsample after conv2)
        print(f"  output {list(y.shape)}; forward order matches the layer table")
    print("models: names, shapes and layer order match docs/models.md")
