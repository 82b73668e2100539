"""PyTorch's time for the configurations `reusenet bench` measures (issue "Performance", item 4).

  torch_bench.py train-step|forward --arch pspnet|unet [--width F] [--batch 8] [--size 128]
                 --threads T [--iters 10] [--warmup 2] [--no-mkldnn]

The same work as `reusenet bench` (cli/cmd_bench.c), on the reference models of
tests/torch/models.py (docs/models.md), random input x ~ N(0, 1) and random labels 0..3:

  train-step  forward in train mode, cross-entropy, zero_grad, backward, SGD step
              (lr 0.01, momentum 0.9, no weight decay)
  forward     eval mode under torch.no_grad()

Threads are set explicitly (PyTorch defaults to 1 thread here): torch.set_num_threads(T),
and OPENBLAS_NUM_THREADS / BLIS_NUM_THREADS / OMP_NUM_THREADS = T before torch is imported,
because with --no-mkldnn the GEMMs go to the system BLAS, which PyTorch does not tell.

  default      oneDNN (mkldnn) convolutions, PyTorch's default CPU path
  --no-mkldnn  torch.backends.mkldnn.enabled = False: im2col + BLAS (slow_conv2d), the
               same method as reusenet

The first warm-up step (always run) is profiled: its loss must be finite, and the
convolution kernels it ran are listed, which shows the mode took effect (PyTorch's default
itself sends some convs, e.g. 1x1 ones on one thread, to slow_conv2d).

Run one configuration per process, so that the peak resident memory (getrusage) is that
configuration's. Prints the configuration, the library line (PyTorch, CPU capability, the
BLAS mapped and its kernel), the conv kernels, each repetition, then "min .. max .., peak
RSS .. MiB" and, last, "median_ms X": the format of `reusenet bench`.
"""
import argparse
import collections
import ctypes
import os
import re
import resource
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", choices=["train-step", "forward"])
    p.add_argument("--arch", choices=["pspnet", "unet"], default="unet")
    p.add_argument("--width", type=int, default=32, help="UNet width F (default 32)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--iters", type=int, default=10, help="timed repetitions (default 10)")
    p.add_argument("--warmup", type=int, default=2,
                   help="untimed repetitions first (default 2; at least 1 is always run)")
    p.add_argument("--no-mkldnn", action="store_true", help="im2col + BLAS instead of oneDNN")
    a = p.parse_args()
    if a.threads < 1 or a.iters < 1 or a.warmup < 0 or a.batch < 1:
        p.error("--threads, --iters and --batch must be >= 1, --warmup >= 0")
    return a


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0   # KiB on Linux


def loaded_blas():
    """The BLAS this process has mapped (PyTorch's build says only 'generic': Debian's
    torch calls the system libblas.so.3) and, for OpenBLAS, the kernel it chose."""
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            name = os.path.basename(path)
            if path.startswith("/") and ("blas" in name or "blis" in name):
                libs.add(os.path.realpath(path))
    text = ", ".join(sorted(libs)) or "none mapped"
    for lib in libs:
        try:
            corename = ctypes.CDLL(lib).openblas_get_corename
        except (OSError, AttributeError):
            continue
        corename.restype = ctypes.c_char_p
        text += f", kernel {corename().decode()}"
        break
    return text


def main():
    a = parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "BLIS_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    import torch
    import torch.nn.functional as F
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                    "torch"))
    import models

    torch.set_num_threads(a.threads)
    torch.backends.mkldnn.enabled = not a.no_mkldnn
    baseline_mib = peak_rss_mib()
    torch.manual_seed(1)
    model = models.build(a.arch, in_channels=1, classes=4, width=a.width)
    x = torch.randn(a.batch, 1, a.size, a.size)
    labels = torch.randint(0, 4, (a.batch, a.size, a.size))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=0.0)
    train = a.mode == "train-step"
    model.train(train)

    def step():
        if train:
            loss = F.cross_entropy(model(x), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss.item()
        with torch.no_grad():
            return model(x).abs().mean().item()

    # The first warm-up, always done, is profiled: it shows which convolution kernels ran
    # (mkldnn_convolution, or slow_conv2d / slow_conv_dilated2d with mkldnn off), and it
    # loads the libraries named below. Its result must be finite.
    with torch.autograd.profiler.profile() as prof:
        value = step()
    if value != value or abs(value) == float("inf"):
        sys.exit(f"torch_bench: the first step gave {value}")
    dispatch = {"aten::conv2d", "aten::convolution", "aten::_convolution",
                "aten::convolution_backward", "aten::thnn_conv2d"}
    kernels = collections.Counter(e.name for e in prof.function_events
                                  if "conv" in e.name and e.name not in dispatch)
    conv_ops = [f"{name} x{n}" for name, n in sorted(kernels.items())]
    name = a.arch + (f" F={a.width}" if a.arch == "unet" else "")
    print(f"{a.mode} {name} batch {a.batch} x 1 x {a.size} x {a.size}, PyTorch {torch.__version__}"
          f" ({'im2col + BLAS, mkldnn off' if a.no_mkldnn else 'oneDNN'}), "
          f"{torch.get_num_threads()} threads")
    capability = re.search(r"CPU capability usage: (\S+)", torch.__config__.show())
    print(f"library: PyTorch {torch.__version__}, CPU capability "
          f"{capability.group(1) if capability else 'unknown'}, BLAS {loaded_blas()}, "
          f"OMP_WAIT_POLICY {os.environ.get('OMP_WAIT_POLICY', 'unset')}")
    print(f"conv kernels in one step: {', '.join(conv_ops)}")
    for _ in range(a.warmup - 1):
        step()
    ms = []
    for it in range(a.iters):
        t0 = time.perf_counter()
        step()
        ms.append((time.perf_counter() - t0) * 1e3)
        print(f"  run {it + 1}: {ms[-1]:.1f} ms")
    ms.sort()
    print(f"min {ms[0]:.1f} ms, max {ms[-1]:.1f} ms, peak RSS {peak_rss_mib():.0f} MiB, "
          f"after import {baseline_mib:.0f} MiB")
    print(f"median_ms {ms[len(ms) // 2]:.2f}")


if __name__ == "__main__":
    main()
