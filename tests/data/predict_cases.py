#!/usr/bin/env python3
"""Volumes and checkpoints for the `reusenet predict` tests, and the independent check of
what it wrote (nibabel reads the outputs; PyTorch recomputes the predictions).

  predict_cases.py write DIR     DIR/cases/*.nii[.gz] (nibabel: both byte orders, odd sizes,
                                 non-identity qform/sform, 2-D to 4-D, several dtypes) and
                                 two UNet checkpoints: DIR/native.safetensors (size 32, no
                                 spacing) and DIR/resample.safetensors (size 32, spacing 1.3)
  predict_cases.py check DIR PRED CKPT
                                 for every case: PRED/<name> is a uint8 mask with the input's
                                 shape, affine, qform/sform and codes, zooms and units;
                                 PRED/<stem>_prob.<ext> holds probabilities (classes along
                                 dim 5) summing to 1 whose argmax is the mask; and both agree
                                 with the pipeline of train/predict.h computed here with
                                 torch.nn.functional (bilinear resampling, windows, z-score,
                                 logits averaged and resized back, softmax).
"""
import math
import os
import sys

import numpy as np
import nibabel as nib
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "torch"))
import models  # noqa: E402
import safetensors_io  # noqa: E402

SIZE = 32
UNIT_TO_MM = {"meter": 1000.0, "mm": 1.0, "micron": 0.001, "unknown": 1.0}


def rotation_affine(zooms, angle, offset):
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
    aff = np.eye(4)
    aff[:3, :3] = rot @ np.diag(zooms)
    aff[:3, 3] = offset
    return aff


def blob_image(shape, rng):
    """A bright disc on a noisy background, so the predictions are not all one class."""
    x, y = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    disc = ((x - shape[0] / 2) ** 2 + (y - shape[1] / 3) ** 2 < (min(shape[:2]) / 4) ** 2)
    base = 300.0 * disc + rng.normal(0, 30, size=shape[:2])
    extra = shape[2:]
    out = base.reshape(base.shape + (1,) * len(extra)) + rng.normal(0, 20, size=shape)
    return out


def write_checkpoints(out):
    gen = torch.Generator().manual_seed(7)
    for name, spacing in (("native", None), ("resample", "1.3")):
        model = models.build("unet", 1, 4, 4)
        with torch.no_grad():
            for tname, t in model.state_dict().items():
                if t.dtype != torch.float32:
                    continue
                if tname.endswith("running_var"):
                    t.copy_(0.5 + torch.rand(t.shape, generator=gen))
                elif tname.endswith("running_mean"):
                    t.copy_(0.2 * torch.randn(t.shape, generator=gen))
                elif tname.endswith(".weight") and t.dim() == 4:
                    t.copy_(torch.randn(t.shape, generator=gen) * math.sqrt(2.0 / t[0].numel()))
                else:
                    t.copy_(0.1 * torch.randn(t.shape, generator=gen))
            # centre each class's logit (eval mode, an image-like input) so that the classes
            # compete on the image's content and every class wins somewhere
            model.eval()
            probe = torch.zeros(1, 1, SIZE, SIZE)
            probe[..., SIZE // 4:3 * SIZE // 4, SIZE // 4:3 * SIZE // 4] = 3.0
            z = model(probe + 0.3 * torch.randn(probe.shape, generator=gen))
            model.head.bias.sub_(z.mean((0, 2, 3)))
        meta = {"arch": "unet", "in_channels": "1", "classes": "4", "width": "4",
                "task": "seg", "size": str(SIZE)}
        if spacing:
            meta["spacing"] = spacing
        safetensors_io.save_file(dict(model.state_dict()),
                                 os.path.join(out, name + ".safetensors"), meta)


def write_cases(out):
    cases = os.path.join(out, "cases")
    os.makedirs(cases, exist_ok=True)
    rng = np.random.default_rng(11)
    # 3-D big-endian int16, odd size, rotated qform and a different sform
    hdr = nib.Nifti1Header(endianness=">")
    arr = blob_image((37, 29, 3), rng).astype(">i2")
    img = nib.Nifti1Image(arr, None, header=hdr)
    img.set_qform(rotation_affine([1.5, 1.25, 8.0], 0.3, [-20, 14, 3]), code=1)
    img.set_sform(rotation_affine([1.5, 1.25, 8.0], -0.2, [5, -7, 30]), code=2)
    img.set_data_dtype(">i2")
    nib.save(img, os.path.join(cases, "be_int16_3d.nii.gz"))
    # 4-D little-endian float32, sform only, time unit msec
    arr = blob_image((21, 19, 2, 3), rng).astype(np.float32)
    img = nib.Nifti1Image(arr, rotation_affine([1.1, 1.7, 6.0], 1.0, [1, 2, 3]))
    img.set_qform(None, code=0)
    img.header.set_xyzt_units("mm", "msec")
    nib.save(img, os.path.join(cases, "le_float32_4d.nii.gz"))
    # 2-D uint16, spacing in metres
    arr = (blob_image((33, 25), rng) + 500).clip(0, None).astype(np.uint16)
    img = nib.Nifti1Image(arr, np.diag([0.0014, 0.0011, 1.0, 1.0]))
    img.header.set_xyzt_units("meter", "sec")
    nib.save(img, os.path.join(cases, "uint16_2d_metres.nii"))
    # big-endian float64, uncompressed, 3-D with larger slices than the window
    hdr = nib.Nifti1Header(endianness=">")
    arr = blob_image((45, 41, 2), rng).astype(">f8")
    img = nib.Nifti1Image(arr, rotation_affine([0.9, 0.9, 10.0], 2.0, [0, 0, 0]), header=hdr)
    img.set_data_dtype(">f8")
    nib.save(img, os.path.join(cases, "be_float64_3d.nii"))
    write_checkpoints(out)


# ---- the reference pipeline (train/predict.h), written from its description

def window_starts(length, size):
    if length <= size:
        return [(length - size) // 2]
    stride = size // 2
    n = -(-(length - size) // stride) + 1
    return [int(math.floor(i * (length - size) / (n - 1) + 0.5)) for i in range(n)]


def predict_plane(model, img, spacing, ckpt_spacing):
    """img (H, W) float64, spacing (rows, cols) mm -> probabilities (K, H, W)."""
    h, w = img.shape
    x = torch.from_numpy(img.astype(np.float32))[None, None]
    rh, rw = h, w
    if ckpt_spacing:
        rh = max(1, int(math.floor(h * spacing[0] / ckpt_spacing + 0.5)))
        rw = max(1, int(math.floor(w * spacing[1] / ckpt_spacing + 0.5)))
        if (rh, rw) != (h, w):
            x = F.interpolate(x.double(), size=(rh, rw), mode="bilinear",
                              align_corners=False).float()
    acc = torch.zeros(4, rh, rw, dtype=torch.float64)
    count = torch.zeros(rh, rw, dtype=torch.float64)
    for y0 in window_starts(rh, SIZE):
        for x0 in window_starts(rw, SIZE):
            win = torch.zeros(SIZE, SIZE, dtype=torch.float64)
            ys, xs = max(y0, 0), max(x0, 0)
            ye, xe = min(y0 + SIZE, rh), min(x0 + SIZE, rw)
            win[ys - y0:ye - y0, xs - x0:xe - x0] = x[0, 0, ys:ye, xs:xe].double()
            sd = win.std(unbiased=False).item()
            win = (win - win.mean()) / (sd if sd >= 1e-6 else 1.0)
            with torch.no_grad():
                z = model(win.float()[None, None]).double()[0]
            acc[:, ys:ye, xs:xe] += z[:, ys - y0:ye - y0, xs - x0:xe - x0]
            count[ys:ye, xs:xe] += 1
    logits = acc / count
    if (rh, rw) != (h, w):
        logits = F.interpolate(logits[None], size=(h, w), mode="bilinear",
                               align_corners=False)[0]
    return torch.softmax(logits, 0).numpy()


def load_model(ckpt):
    meta = safetensors_io.load_metadata(ckpt)
    model = models.build("unet", 1, 4, int(meta["width"]))
    model.load_state_dict(safetensors_io.load_file(ckpt), strict=False)
    model.eval()
    return model, float(meta["spacing"]) if "spacing" in meta else 0.0


def check_header(name, img, mask):
    h0, h1 = img.header, mask.header
    assert mask.shape == img.shape, (name, mask.shape, img.shape)
    assert mask.get_data_dtype() == np.uint8, (name, mask.get_data_dtype())
    for get in ("get_qform", "get_sform"):
        a, ca = getattr(img, get)(coded=True)
        b, cb = getattr(mask, get)(coded=True)
        assert int(ca) == int(cb), (name, get, ca, cb)
        assert (a is None) == (b is None) and (a is None or np.allclose(a, b, atol=1e-5)), (
            name, get, a, b)
    assert np.allclose(img.affine, mask.affine, atol=1e-5), (name, img.affine, mask.affine)
    assert np.allclose(h0.get_zooms(), h1.get_zooms()), (name, h0.get_zooms(), h1.get_zooms())
    assert h0.get_xyzt_units() == h1.get_xyzt_units(), (name, h0.get_xyzt_units())


def check(out, pred, ckpt):
    model, ckpt_spacing = load_model(ckpt)
    cases = os.path.join(out, "cases")
    worst, disagree, total = 0.0, 0, 0
    for name in sorted(os.listdir(cases)):
        img = nib.load(os.path.join(cases, name))
        mask = nib.load(os.path.join(pred, name))
        check_header(name, img, mask)
        ext = ".nii.gz" if name.endswith(".gz") else ".nii"
        prob = nib.load(os.path.join(pred, name[:-len(ext)] + "_prob" + ext))
        assert prob.get_data_dtype() == np.float32, (name, prob.get_data_dtype())
        data = img.get_fdata()
        shape4 = data.shape + (1,) * (4 - data.ndim)
        assert prob.shape == shape4 + (4,), (name, prob.shape)
        assert np.allclose(prob.affine, img.affine, atol=1e-5), name
        p = prob.get_fdata().reshape(shape4 + (4,))
        m = np.asarray(mask.dataobj).reshape(shape4)
        assert np.allclose(p.sum(-1), 1, atol=1e-5), name
        assert (p.argmax(-1) == m).all(), name
        unit = img.header.get_xyzt_units()[0]
        zooms = [z * UNIT_TO_MM.get(unit, 1.0) for z in img.header.get_zooms()[:2]]
        data = data.reshape(shape4)
        for t in range(shape4[3]):
            for z in range(shape4[2]):
                ref = predict_plane(model, data[:, :, z, t].T, (zooms[1], zooms[0]), ckpt_spacing)
                ours = np.moveaxis(p[:, :, z, t, :], -1, 0).transpose(0, 2, 1)
                worst = max(worst, float(np.abs(ref - ours).max()))
                top2 = np.sort(ref, 0)[-2:]
                clear = top2[1] - top2[0] > 1e-3
                labels = m[:, :, z, t].T
                disagree += int(((ref.argmax(0) != labels) & clear).sum())
                total += labels.size
    print("max |p - p_ref| %.2e, %d of %d labels differ where the reference is clear"
          % (worst, disagree, total))
    assert worst < 2e-3, worst
    assert disagree == 0, disagree
    print("ok")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        write_cases(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
