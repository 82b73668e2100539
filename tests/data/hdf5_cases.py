#!/usr/bin/env python3
"""HDF5 case files written and read by another program (h5py), for the HDF5 reader tests.

  hdf5_cases.py write OUTDIR   write case files into OUTDIR and a manifest OUTDIR/cases.txt
  hdf5_cases.py seeds OUTDIR   write the fuzz target's seeds (tests/fuzz/seeds/fuzz_hdf5): tiny
                               case files of every storage kind, good and bad
  hdf5_cases.py dump FILE OUT.f32
                               print "shape D0 [D1 [D2]]" of FILE's image and write its image
                               then its label to OUT.f32 (float32, C order: last axis fastest)
  hdf5_cases.py nifti AXES SX SY SZ IMAGE.nii.gz MASK.nii.gz H5 [H5 ...]
                               check with nibabel that IMAGE and MASK hold the H5 files' image
                               and label (one volume, or 2-D slices stacked in the given order)
                               with pixdim SX SY SZ; print "ok" or what differs (exit 1)

Manifest lines:
  read PATH NDIM D0 D1 D2 VALUES.f32   a file the reader must read like h5py (D2 1 for 2-D;
                                       VALUES: image then label, float32, C order)
  reject PATH TEXT                     a file the reader must reject, saying TEXT
"""
import os
import sys

import h5py
import numpy as np


def dump(path, out):
    with h5py.File(path, "r") as f:
        image = np.asarray(f["image"][()], dtype=np.float64)
        label = np.asarray(f["label"][()], dtype=np.float64)
    np.concatenate([image.astype(np.float32).ravel(), label.astype(np.float32).ravel()]).tofile(out)
    return image.shape


def write_cases(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(23)
    lines = []

    def good(name, image, label, **kw):
        path = os.path.join(out, name)
        with h5py.File(path, "w") as f:
            f.create_dataset("image", data=image, **kw)
            f.create_dataset("label", data=label, **kw)
            f.attrs["note"] = "written by h5py"
            f.create_group("extra").create_dataset("x", data=np.arange(3))
        shape = dump(path, path + ".f32")
        dims = list(shape) + [1] * (3 - len(shape))
        lines.append("read %s %d %d %d %d %s" % (path, len(shape), *dims, path + ".f32"))

    def bad(name, text, **members):
        path = os.path.join(out, name)
        with h5py.File(path, "w") as f:
            for key, value in members.items():
                if value is None:
                    f.create_group(key)
                else:
                    f.create_dataset(key, data=value)
        lines.append("reject %s %s" % (path, text))

    z, y, x = 3, 7, 5
    img = rng.random((z, y, x), dtype=np.float32)
    lab = rng.integers(0, 4, (z, y, x)).astype(np.uint8)
    # SSL4MIS's own: float32 in [0, 1], uint8 labels, gzip chunks
    good("ssl4mis.h5", img, lab, compression="gzip", chunks=(2, 4, 3))
    good("slice_f64_i32.h5", rng.normal(size=(y, x)), rng.integers(0, 4, (y, x)).astype(np.int32))
    good("i16_u16_shuffle.h5", rng.integers(-2000, 2000, (z, y, x)).astype(np.int16),
         lab.astype(np.uint16), compression="gzip", shuffle=True, chunks=(1, 7, 5))
    good("big_endian.h5", img.astype(">f4"), lab.astype(">i2"))
    good("fletcher32.h5", img.astype(np.float64), lab, fletcher32=True, chunks=(3, 7, 5))
    good("float_labels.h5", img, lab.astype(np.float32))
    bad("no_label.h5", "no dataset 'label'", image=img)
    bad("no_image.h5", "no dataset 'image'", label=lab, other=img)
    bad("shapes.h5", "'image' (3x7x5) and 'label' (3x7x4) differ in shape", image=img, label=lab[:, :, :4])
    bad("four_d.h5", "has 4 dimensions", image=img[None], label=lab[None])
    bad("strings.h5", "does not hold numbers", image=np.array([b"ab", b"cd"]), label=lab)
    bad("group.h5", "'label' is not a dataset", image=img, label=None)
    bad("scalar.h5", "is not an array", image=np.float32(1), label=lab)
    bad("empty_axis.h5", "is empty", image=np.zeros((0, 4), np.float32), label=np.zeros((0, 4), np.uint8))
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def write_seeds(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(5)
    img = rng.random((2, 3, 2), dtype=np.float32)
    lab = rng.integers(0, 4, (2, 3, 2)).astype(np.uint8)
    kinds = {
        "gzip.h5": dict(compression="gzip", chunks=(1, 2, 2)),
        "shuffle.h5": dict(compression="gzip", shuffle=True, chunks=(2, 3, 1)),
        "fletcher32.h5": dict(fletcher32=True, chunks=(1, 3, 2)),
        "contiguous.h5": {},
        "compact.h5": dict(compact=True) if hasattr(h5py, "h5d") else {},
    }
    for name, kw in kinds.items():
        with h5py.File(os.path.join(out, name), "w") as f:
            if kw.pop("compact", False):
                for key, value in (("image", img), ("label", lab)):
                    space = h5py.h5s.create_simple(value.shape)
                    plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
                    plist.set_layout(h5py.h5d.COMPACT)
                    d = h5py.h5d.create(f.id, key.encode(), h5py.h5t.py_create(value.dtype), space, plist)
                    d.write(h5py.h5s.ALL, h5py.h5s.ALL, value)
            else:
                f.create_dataset("image", data=img, **kw)
                f.create_dataset("label", data=lab, **kw)
    # the newer file format (superblock 3, chunk indexes other than the v1 B-tree)
    with h5py.File(os.path.join(out, "latest.h5"), "w", libver="latest") as f:
        f.create_dataset("image", data=img, compression="gzip", chunks=(1, 2, 2))
        f.create_dataset("label", data=lab, chunks=(2, 3, 2), maxshape=(None, 3, 2))
    with h5py.File(os.path.join(out, "slice_be.h5"), "w") as f:
        f.create_dataset("image", data=img[0].astype(">f8"))
        f.create_dataset("label", data=lab[0].astype(">i2"))
    with h5py.File(os.path.join(out, "no_label.h5"), "w") as f:
        f.create_dataset("image", data=img)
        f.create_group("label")
    with h5py.File(os.path.join(out, "shapes.h5"), "w") as f:
        f.create_dataset("image", data=img)
        f.create_dataset("label", data=lab[:, :, :1])


def check_nifti(axes, spacing, image_path, mask_path, h5s):
    import nibabel as nib
    images, labels = [], []
    for p in h5s:
        with h5py.File(p, "r") as f:
            images.append(np.asarray(f["image"][()], dtype=np.float64))
            labels.append(np.asarray(f["label"][()], dtype=np.float64))

    def volume(arrays):
        a = arrays[0] if len(arrays) == 1 and arrays[0].ndim == 3 else None
        if axes == "zyx":   # (Z, Y, X), or slices (Y, X) stacked along Z
            a = a if a is not None else np.stack(arrays, axis=0)
            return a.transpose(2, 1, 0)
        a = a if a is not None else np.stack(arrays, axis=2)   # (X, Y, Z)
        return a

    problems = []
    for path, arrays, kind in ((image_path, images, "image"), (mask_path, labels, "mask")):
        img = nib.load(path)
        want = volume(arrays)
        got = np.asarray(img.get_fdata(), dtype=np.float64)
        if got.shape != want.shape:
            problems.append("%s: shape %s, h5py gives %s" % (path, got.shape, want.shape))
            continue
        tol = 1e-6 * max(1.0, float(np.abs(want).max()))
        if np.abs(got - want).max() > tol:
            problems.append("%s: values differ from the HDF5 %s by %g" % (path, kind, np.abs(got - want).max()))
        zooms = [float(v) for v in img.header.get_zooms()[:3]]
        if any(abs(a - b) > 1e-5 * b for a, b in zip(zooms, spacing)):
            problems.append("%s: pixdim %s, expected %s" % (path, zooms, spacing))
        if kind == "mask" and img.get_data_dtype() != np.uint8:
            problems.append("%s: mask stored as %s, expected uint8" % (path, img.get_data_dtype()))
    print("\n".join(problems) if problems else "ok")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        write_cases(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "seeds":
        write_seeds(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "dump":
        print("shape " + " ".join(str(d) for d in dump(sys.argv[2], sys.argv[3])))
    elif len(sys.argv) >= 9 and sys.argv[1] == "nifti":
        sys.exit(check_nifti(sys.argv[2], [float(v) for v in sys.argv[3:6]], sys.argv[6],
                             sys.argv[7], sys.argv[8:]))
    else:
        sys.exit(__doc__)
