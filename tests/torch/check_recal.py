"""BN recalibration (AdaBN, reuse/recalibrate.c) against PyTorch.

For a model with random weights and running statistics, and random images X, this script
runs

    reusenet forward --weights W --input X --output Y --recalibrate B --save-weights W2

(every BN's running statistics re-estimated over all of X, in passes of B images, then an
eval-mode forward) and compares with PyTorch's definition, computed in float64: every
BatchNorm2d reset_running_stats(), momentum=None, the model in train mode, all of X as
one batch under no_grad; then eval mode. Error = relative L2 ||c - ref|| / ||ref||:

    every BN's running_mean and running_var     <= 1e-4
    the eval-mode logits after recalibration    <= 1e-4

B is chosen so that the last pass is partial (the sums must run over passes).

Usage:  /usr/bin/python3 tests/torch/check_recal.py [--reusenet build/reusenet] [--seed S]
Exits 1 on any failure.
"""
import argparse
import copy
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_models  # noqa: E402
import models  # noqa: E402
import safetensors_io  # noqa: E402

TOL = 1e-4
CASES = [   # arch, constructor arguments, images, size, pass size
    ("unet", {"in_channels": 1, "classes": 4, "width": 8}, 7, 32, 3),
    ("pspnet", {"in_channels": 1, "classes": 4}, 5, 32, 2),
]


def reference(model, x):
    """PyTorch's AdaBN: momentum=None after reset_running_stats, one batch, train mode."""
    ref = copy.deepcopy(model).double()
    for m in ref.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    xin = torch.from_numpy(x).double()
    with torch.no_grad():
        ref.train()(xin)
        y = ref.eval()(xin)
    return ref, y.numpy()


def check(exe, arch, kw, n, size, batch, seed, tmp):
    gen = torch.Generator().manual_seed(seed)
    model = check_models.randomize(models.build(arch, **kw), gen)
    x = (torch.randn((n, kw["in_channels"], size, size), generator=gen) * 1.5 + 0.3).numpy()
    w, w2 = os.path.join(tmp, f"{arch}.safetensors"), os.path.join(tmp, f"{arch}-recal.safetensors")
    xp, yp = os.path.join(tmp, f"{arch}-x.npy"), os.path.join(tmp, f"{arch}-y.npy")
    safetensors_io.save_file(model.state_dict(), w, check_models.metadata(arch, kw))
    np.save(xp, x.astype(np.float32))
    cmd = [exe, "forward", "--weights", w, "--input", xp, "--output", yp, "--recalibrate",
           str(batch), "--save-weights", w2, "--threads", "1"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if r.returncode:
        print(f"{arch}: {' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()}")
        return False
    ref, yref = reference(model, x)
    saved = safetensors_io.load_file(w2)
    worst, ok, count = 0.0, True, 0
    for name, t in ref.state_dict().items():
        if not name.endswith(("running_mean", "running_var")):
            continue
        err = check_models.rel_l2(saved[name].numpy(), t.numpy())
        count += 1
        worst = max(worst, err)
        if err > TOL:
            print(f"{arch}: {name} off by {err:.2e} (tol {TOL:.0e})")
            ok = False
    yerr = check_models.rel_l2(np.load(yp), yref)
    ok &= yerr <= TOL
    print(f"{arch}: {count} BN statistics after recalibration on {n} images in passes of "
          f"{batch}: worst {worst:.2e}; eval logits {yerr:.2e} (tol {TOL:.0e}) "
          f"{'ok' if ok else 'FAILED'}")
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reusenet", help="the C program (default: $REUSENET or build/reusenet)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    exe = check_models.find_program(args.reusenet)
    torch.manual_seed(args.seed)
    with tempfile.TemporaryDirectory(prefix="reusenet-recal-") as tmp:
        results = [check(exe, a, kw, n, s, b, args.seed + i, tmp)
                   for i, (a, kw, n, s, b) in enumerate(CASES)]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
