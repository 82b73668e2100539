"""Ten training steps of `reusenet train` against PyTorch (Adam), as llm.c checks its loop.

For each architecture at a small size, this script writes a tiny PNG dataset (three
patients of random 8-bit images and masks of random 4 x 4 blocks 0..3; dataset.cfg preset
rvsc, whose split is ordered: with --train-count 2 --val-count 1 the first two patients
train, the third validates), a fresh model (reusenet init), and runs

    reusenet train --init-from W0 --data DIR --train-count 2 --val-count 1 --size S
        --epochs 10 --batch B --optimizer adam --lr LR --schedule none --no-augment

with B = every training slice, so that each epoch is exactly one step on the same batch
(the order of the slices inside a batch changes neither the mean cross-entropy nor BN's
batch statistics). The reference is models.py loaded with W0, on the same slices z-scored
per slice as datasets/preprocess.c does (mean and population sd over the S x S image),
trained by torch.optim.Adam (betas 0.9, 0.999, eps 1e-8, no weight decay) on
F.cross_entropy with train-mode BN for 10 steps: once in float64 (the reference) and once
in float32 (the yardstick below). Checks:

  1. the loss of steps 1 and 2 (the forward of W0, and of W0 after one Adam update), from
     log.csv's train_loss (6 decimals):    |C - float64| <= 1e-4 |float64| + 1e-6;
  2. the loss of every step:                |C - float64| <= 1e-2 (llm.c's tolerance)
     and <= max(1e-4 |float64|, 3 x |PyTorch float32 - float64|) at its worst step;
  3. the weights after 10 steps (last.safetensors): the update W10 - W0 of all trainable
     tensors together, and apart that of all BN running statistics, relative L2
     ||C - float64|| / ||float64 - W0|| <= max(1e-3, 3 x PyTorch float32's); and
     num_batches_tracked exactly 10.

Why 2 and 3 use a yardstick: a float32 run drifts away from the float64 one over the
steps, PyTorch's own float32 run as far as ours. An element at a ReLU's or max-pool's
kink can take the other branch after rounding, and Adam divides each gradient element by
its own running magnitude, so a small change in a small gradient becomes a step of size
lr (seen, UNet F=4: PyTorch float32 ends 2e-3 from float64 in loss, 0.2 in the relative L2
of a BN bias). A wrong optimizer (moment, bias correction, step size) or loss moves step
2's loss beyond check 1 and the trajectory far beyond the yardstick.

Adam moves an element whose gradient is 0 in exact arithmetic by up to lr per step with
the sign of its rounding noise (the bias of a conv feeding a train-mode BN: the batch mean
removes it). Those tensors are checked by that bound instead: |w - w0| <= 10 lr.

Usage:  /usr/bin/python3 tests/torch/check_training.py [--reusenet build/reusenet]
            [--seed S] [--keep DIR]
Prints one line per check; exits 1 on any failure.
"""
import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402
import safetensors_io  # noqa: E402

STEPS = 10
LR = 1e-3
TOL_LOSS_REL, TOL_LOSS_ABS = 1e-4, 1e-6
TOL_LOSS_LLMC = 1e-2
TOL_WEIGHTS = 1e-3
YARDSTICK = 3.0
# (arch, constructor options, slices per patient, size)
CASES = [
    ("unet", {"in_channels": 1, "classes": 4, "width": 4}, 2, 32),
    ("pspnet", {"in_channels": 1, "classes": 4}, 2, 32),
]
PATIENTS, TRAIN_PATIENTS = 3, 2


def write_png(path, a):
    """An 8-bit grayscale PNG of the 2-D uint8 array a (filter 0 on every row)."""
    h, w = a.shape
    raw = b"".join(b"\x00" + a[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw)))
        f.write(chunk(b"IEND", b""))


def write_dataset(root, per_patient, size, rng):
    """PNG layout; returns the training slices (images uint8, masks) in patient order."""
    images, masks = [], []
    for p in range(PATIENTS):
        for kind in ("images", "masks"):
            os.makedirs(os.path.join(root, kind, f"P{p + 1}"), exist_ok=True)
        for s in range(per_patient):
            img = rng.integers(0, 256, (size, size), dtype=np.uint8)
            # masks of 4 x 4 blocks, so that every class covers a region
            blocks = rng.integers(0, 4, (size // 4, size // 4), dtype=np.uint8)
            msk = np.kron(blocks, np.ones((4, 4), dtype=np.uint8))
            name = f"{s + 1:04d}.png"
            write_png(os.path.join(root, "images", f"P{p + 1}", name), img)
            write_png(os.path.join(root, "masks", f"P{p + 1}", name), msk)
            if p < TRAIN_PATIENTS:
                images.append(img)
                masks.append(msk)
    with open(os.path.join(root, "dataset.cfg"), "w") as f:
        f.write("preset: rvsc\nclasses: 1 2 3\n")
    return np.stack(images), np.stack(masks)


def zscore(images):
    """datasets/preprocess.c: (x - mean) / population sd per slice, in float64."""
    x = images.astype(np.float64)
    mean = x.mean(axis=(1, 2), keepdims=True)
    sd = np.sqrt(((x - mean) ** 2).mean(axis=(1, 2), keepdims=True))
    return (x - mean) / np.where(sd < 1e-6, 1.0, sd)


def reference(arch, kw, w0, images, masks, dtype=torch.float64):
    """10 Adam steps in dtype; the loss of each step and the final state_dict."""
    model = models.build(arch, **kw).to(dtype)
    model.load_state_dict({k: v.to(dtype) if v.is_floating_point() else v
                           for k, v in w0.items()})
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=LR, betas=(0.9, 0.999), eps=1e-8,
                           weight_decay=0)
    x = torch.from_numpy(zscore(images)).unsqueeze(1).to(dtype)
    t = torch.from_numpy(masks.astype(np.int64))
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), t)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, model.state_dict()


def zero_gradient_tensors(arch):
    """Conv biases that feed a train-mode BN: gradient 0 in exact arithmetic."""
    if arch != "unet":
        return set()
    return {f"{b}.conv{i}.bias" for b in ("enc1", "enc2", "enc3", "enc4", "bottom", "dec4",
                                          "dec3", "dec2", "dec1") for i in (1, 2)}


def rel_l2(a, b):
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    nb = np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / nb) if nb > 0 else float(np.linalg.norm(a))


def run_case(prog, arch, kw, per_patient, size, seed, work):
    rng = np.random.default_rng(seed)
    data = os.path.join(work, "data")
    images, masks = write_dataset(data, per_patient, size, rng)
    w0_path, run = os.path.join(work, "w0.safetensors"), os.path.join(work, "run")
    init = [prog, "init", "--arch", arch, "--seed", str(seed), "-o", w0_path]
    if arch == "unet":
        init[4:4] = ["--width", str(kw["width"])]
    subprocess.run(init, check=True, stdout=subprocess.DEVNULL)
    batch = TRAIN_PATIENTS * per_patient
    subprocess.run([prog, "train", "--arch", arch] +
                   (["--width", str(kw["width"])] if arch == "unet" else []) +
                   ["--init-from", w0_path, "--data", data, "--train-count", "2",
                    "--val-count", "1", "--size", str(size), "--epochs", str(STEPS),
                    "--batch", str(batch), "--optimizer", "adam", "--lr", str(LR),
                    "--schedule", "none", "--no-augment", "--threads", "1", "--quiet",
                    "-o", run], check=True)
    w0 = safetensors_io.load_file(w0_path)
    ref_losses, ref_state = reference(arch, kw, w0, images, masks)
    f32_losses, f32_state = reference(arch, kw, w0, images, masks, torch.float32)
    with open(os.path.join(run, "log.csv")) as f:
        rows = [line.strip().split(",") for line in f][1:]
    if [int(r[1]) for r in rows] != list(range(1, STEPS + 1)):
        print(f"FAIL {arch}: log.csv steps {[r[1] for r in rows]}, expected one per epoch")
        return False
    c_losses = [float(r[3]) for r in rows]
    return (check_losses(arch, c_losses, ref_losses, f32_losses) &
            check_weights(arch, w0, safetensors_io.load_file(os.path.join(run, "last.safetensors")),
                          ref_state, f32_state))


def report(ok, text):
    print(("ok   " if ok else "FAIL ") + text)
    return ok


def check_losses(arch, c, ref, f32):
    first = max(abs(c[i] - ref[i]) / (TOL_LOSS_REL * abs(ref[i]) + TOL_LOSS_ABS) for i in (0, 1))
    ok = report(first <= 1, f"{arch}: loss of steps 1 and 2, worst |C - float64| / tolerance "
                f"{first:.3f}")
    d_c = max(abs(a - b) for a, b in zip(c, ref))
    d_32 = max(abs(a - b) for a, b in zip(f32, ref))
    bound = max(TOL_LOSS_REL * max(abs(r) for r in ref), YARDSTICK * d_32)
    ok &= report(d_c <= min(TOL_LOSS_LLMC, bound) or d_c <= TOL_LOSS_REL * abs(ref[-1]),
                 f"{arch}: loss of {STEPS} steps, worst |C - float64| {d_c:.2e} (PyTorch float32 "
                 f"{d_32:.2e}; bound {min(TOL_LOSS_LLMC, bound):.2e}); C {c[0]:.6f} -> {c[-1]:.6f}, "
                 f"float64 {ref[0]:.6f} -> {ref[-1]:.6f}")
    return ok


def group_distance(names, state, ref_state, base):
    """||x - ref|| / ||ref - base|| over the tensors `names` taken together: the distance of
    their update from the reference's, relative to the reference's update."""
    num = sum(float(((state[n].double() - ref_state[n].double()) ** 2).sum()) for n in names)
    den = sum(float(((ref_state[n].double() - base[n].double()) ** 2).sum()) for n in names)
    return (num / den) ** 0.5 if den > 0 else num ** 0.5


def check_weights(arch, w0, c_state, ref_state, f32_state):
    ok, zero_grad, moved_too_far = True, zero_gradient_tensors(arch), []
    trainable, running = [], []
    for name in ref_state:
        got = c_state[name]
        if name.endswith("num_batches_tracked"):
            if int(got) != STEPS:
                ok = report(False, f"{arch}: {name} = {int(got)}, expected {STEPS}")
        elif name in zero_grad:
            moved = (got.double() - w0[name].double()).abs().max().item()
            if moved > STEPS * LR * (1 + 1e-4):
                moved_too_far.append(f"{name} moved {moved:.3g}")
        else:
            (running if ".running_" in name else trainable).append(name)
    for what, names in (("trainable tensors' updates", trainable),
                        ("BN running statistics' updates", running)):
        d_c = group_distance(names, c_state, ref_state, w0)
        d_32 = group_distance(names, f32_state, ref_state, w0)
        bound = max(TOL_WEIGHTS, YARDSTICK * d_32)
        ok &= report(d_c <= bound, f"{arch}: {len(names)} {what} after {STEPS} steps, relative "
                     f"L2 from float64 {d_c:.2e} (PyTorch float32 {d_32:.2e}; bound {bound:.2e})")
    if zero_grad:
        ok &= report(not moved_too_far, f"{arch}: {len(zero_grad)} conv biases before BN moved at "
                     f"most {STEPS} x lr" + (": " + ", ".join(moved_too_far) if moved_too_far else ""))
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--reusenet", default=os.environ.get(
        "REUSENET", os.path.join(here, "..", "..", "build", "reusenet")))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", help="keep the work folders under this directory")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    ok = True
    for arch, kw, per_patient, size in CASES:
        work = tempfile.mkdtemp(prefix=f"check-training-{arch}-", dir=a.keep)
        try:
            ok &= run_case(a.reusenet, arch, kw, per_patient, size, a.seed, work)
        finally:
            if not a.keep:
                shutil.rmtree(work)
    print("all training checks passed" if ok else "training check FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
