"""Checkpoints move both ways between PyTorch and the C program (docs/models.md,
"Checkpoints").

PyTorch -> C: models.py state_dicts written with safetensors_io.save_file (the bytes
    safetensors.torch.save_file writes), with and without metadata, load in
    `reusenet info`. Broken variants are refused with a message naming the tensor: a
    missing, an extra and a mis-shaped tensor; a missing num_batches_tracked is tolerated.
C -> PyTorch: `reusenet init` checkpoints load with load_state_dict(strict=True) into the
    model their metadata describes; dtypes are F32 and I64 (num_batches_tracked, shape
    []); the file is canonical (re-serializing it reproduces it byte for byte); the same
    seed gives the same bytes; the initial values follow PyTorch's initialisation.

Usage:  /usr/bin/python3 tests/torch/check_roundtrip.py [--reusenet build/reusenet]
Prints one line per check and a summary; exits 1 on any failure.
"""
import argparse
import math
import os
import subprocess
import sys
import tempfile

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402
import safetensors_io  # noqa: E402
from check_models import find_program, metadata, randomize  # noqa: E402

results = []


def report(name, ok, detail=""):
    results.append(ok)
    """One line; the detail (program output, offending names) only on failure."""
    print(f"{'ok  ' if ok else 'FAIL'}  {name}{': ' + detail if detail and not ok else ''}", flush=True)


def run(exe, *args):
    r = subprocess.run([exe] + [str(a) for a in args], capture_output=True, text=True, timeout=600)
    return r.returncode, (r.stdout + r.stderr).strip()


def torch_to_c(exe, d, arch, kw):
    gen = torch.Generator().manual_seed(7)
    model = randomize(models.build(arch, **kw), gen)
    sd = model.state_dict()
    label = f"{arch} {kw}"

    path = os.path.join(d, f"{arch}_meta.safetensors")
    safetensors_io.save_file(sd, path, metadata(arch, kw))
    rc, out = run(exe, "info", path)
    report(f"PyTorch -> C, {label}, with metadata: reusenet info", rc == 0, out.splitlines()[0] if out else "")

    # Exactly what safetensors.torch.save_file(model.state_dict(), path) writes: no metadata.
    path = os.path.join(d, f"{arch}_plain.safetensors")
    safetensors_io.save_file(sd, path)
    rc, out = run(exe, "info", path)
    first = out.splitlines()[0] if out else ""
    want = [arch, f"{kw['classes']} classes"] + ([f"width {kw['width']}"] if arch == "unet" else [])
    report(f"PyTorch -> C, {label}, plain state_dict: reusenet info", rc == 0 and all(w in first for w in want),
           first)

    first_conv = "conv1.weight" if arch == "pspnet" else "enc1.conv1.weight"
    inner = "layer1.0.conv2.weight" if arch == "pspnet" else "enc2.conv2.weight"
    variants = {
        "missing tensor": ({k: v for k, v in sd.items() if k != inner}, inner, True),
        "extra tensor": (dict(sd, **{"extra.weight": torch.zeros(3)}), "extra.weight", True),
        "mis-shaped tensor": (dict(sd, **{inner: sd[inner][:, :, :, :1].contiguous()}), inner, True),
        "F64 instead of F32": (dict(sd, **{first_conv: sd[first_conv].double()}), first_conv, True),
        "no num_batches_tracked": ({k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")},
                                   None, False),
    }
    for what, (tensors, name, should_fail) in variants.items():
        path = os.path.join(d, f"{arch}_bad.safetensors")
        safetensors_io.save_file(tensors, path, metadata(arch, kw))
        rc, out = run(exe, "info", path)
        if should_fail:
            ok = rc not in (0, 3) and name in out and len(out.splitlines()) == 1
            report(f"PyTorch -> C, {label}, {what}: refused naming '{name}'", ok, out)
        else:
            report(f"PyTorch -> C, {label}, {what}: tolerated", rc == 0, "" if rc == 0 else out)


def expected_std(arch, name, t):
    """The spread of PyTorch's initialisation (models/model.h): backbone convs of pspnet
    kaiming_normal_(fan_out, relu), every other conv Conv2d's default kaiming_uniform_(a=sqrt(5)),
    i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), the same bound for conv biases."""
    if t.dim() == 4:
        fan_in, fan_out = t.shape[1] * t.shape[2] * t.shape[3], t.shape[0] * t.shape[2] * t.shape[3]
        backbone = arch == "pspnet" and not name.startswith(("ppm.", "bottleneck.", "classifier."))
        return math.sqrt(2.0 / fan_out) if backbone else 1.0 / math.sqrt(3.0 * fan_in)
    return None


def c_to_torch(exe, d, arch, extra):
    path = os.path.join(d, f"c_{arch}.safetensors")
    rc, out = run(exe, "init", "--arch", arch, *extra, "--seed", 1, "-o", path)
    if rc != 0:
        report(f"C -> PyTorch, {arch}: reusenet init", False, out)
        return
    meta = safetensors_io.load_metadata(path)
    need = ["arch", "in_channels", "classes", "task"] + (["width"] if arch == "unet" else [])
    report(f"C -> PyTorch, {arch}: metadata has {', '.join(need)}", all(k in meta for k in need),
           str(meta))
    kw = {"in_channels": int(meta.get("in_channels", 1)), "classes": int(meta.get("classes", 4))}
    if arch == "unet":
        kw["width"] = int(meta.get("width", 8))
    model = models.build(meta.get("arch", arch), **kw)
    sd = safetensors_io.load_file(path)
    try:
        model.load_state_dict(sd, strict=True)
        report(f"C -> PyTorch, {arch} {kw}: load_state_dict(strict=True)", True)
    except RuntimeError as e:
        report(f"C -> PyTorch, {arch} {kw}: load_state_dict(strict=True)", False, str(e).splitlines()[0])
        return
    bad = [k for k, v in sd.items()
           if (v.dtype != torch.int64 or v.shape != ()) and k.endswith("num_batches_tracked")
           or (v.dtype != torch.float32 and not k.endswith("num_batches_tracked"))]
    report(f"C -> PyTorch, {arch}: F32 tensors, I64 num_batches_tracked of shape []", not bad, str(bad[:3]))

    with open(path, "rb") as f:
        data = f.read()
    report(f"C -> PyTorch, {arch}: canonical layout (re-serialized bytes identical)",
           safetensors_io.serialize(sd, meta) == data)
    again = os.path.join(d, f"c_{arch}_again.safetensors")
    run(exe, "init", "--arch", arch, *extra, "--seed", 1, "-o", again)
    with open(again, "rb") as f:
        report(f"C -> PyTorch, {arch}: same seed, same bytes", f.read() == data)

    # Initial values: BN at identity, conv spreads as PyTorch's initialisers.
    bn_ok = all(torch.all(m.weight == 1) and torch.all(m.bias == 0) and torch.all(m.running_mean == 0)
                and torch.all(m.running_var == 1) and int(m.num_batches_tracked) == 0
                for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    report(f"C -> PyTorch, {arch}: BatchNorm initialised to weight 1, bias 0, mean 0, var 1", bn_ok)
    worst, worst_name = 0.0, ""
    for name, t in sd.items():
        want = expected_std(arch, name, t)
        if want is None or t.numel() < 2000:
            continue
        dev = abs(float(t.std()) / want - 1)
        if dev > worst:
            worst, worst_name = dev, name
    report(f"C -> PyTorch, {arch}: conv weight spreads as PyTorch's init (worst {worst_name} "
           f"off by {100 * worst:.1f}%, allowed 10%)", worst <= 0.10)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reusenet", help="the C program (default: $REUSENET or build/reusenet)")
    args = p.parse_args()
    exe = find_program(args.reusenet)
    with tempfile.TemporaryDirectory(prefix="reusenet-roundtrip-") as d:
        torch_to_c(exe, d, "pspnet", {"in_channels": 1, "classes": 4})
        torch_to_c(exe, d, "unet", {"in_channels": 1, "classes": 4, "width": 8})
        c_to_torch(exe, d, "unet", ["--width", "8"])
        c_to_torch(exe, d, "pspnet", [])
    failed = results.count(False)
    print(f"check_roundtrip: {len(results) - failed}/{len(results)} checks passed"
          + (" -- FAILED" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
