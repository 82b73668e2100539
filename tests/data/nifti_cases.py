#!/usr/bin/env python3
"""NIfTI files written by another program (nibabel), for the reader tests.

  nifti_cases.py OUTDIR        write test volumes into OUTDIR and a manifest OUTDIR/cases.txt
  nifti_cases.py --dump FILE OUT.f32
                               print how nibabel sees FILE ("dims", "zooms" lines) and write
                               its scaled voxel values to OUT.f32 (float32, x fastest)

Manifest lines:
  read PATH NX NY NZ NT SX SY SZ DTYPE VALUES.f32   a file the reader must read like nibabel
  reject PATH TEXT                                   a file the reader must reject, saying TEXT
Spacings are in mm. Values are nibabel's get_fdata() (scl_slope/scl_inter applied), in
NIfTI order (x fastest). Besides files written here, nibabel's own test data (big-endian,
scaled, with extensions, NIfTI-2) is listed when the installed package ships it.
"""
import os
import sys

import numpy as np
import nibabel as nib

UNIT_TO_MM = {"meter": 1000.0, "mm": 1.0, "micron": 0.001, "unknown": 1.0}
DTYPE_NAMES = {"u1": "uint8", "i1": "int8", "i2": "int16", "u2": "uint16", "i4": "int32",
               "u4": "uint32", "i8": "int64", "u8": "uint64", "f4": "float32", "f8": "float64"}


def dump_values(img, out_f32):
    data = np.asarray(img.get_fdata(dtype=np.float64), dtype=np.float32)
    shape = tuple(data.shape) + (1,) * (4 - data.ndim)
    data.reshape(shape).ravel(order="F").tofile(out_f32)
    return shape


def describe(path, out_f32):
    img = nib.load(path)
    hdr = img.header
    shape = dump_values(img, out_f32)
    unit = hdr.get_xyzt_units()[0]
    zooms = [abs(float(z)) * UNIT_TO_MM.get(unit, 1.0) for z in hdr.get_zooms()[:3]]
    zooms += [1.0] * (3 - len(zooms))
    zooms = [z if z > 0 else 1.0 for z in zooms]
    dtype = DTYPE_NAMES[hdr.get_data_dtype().str[1:]]
    return shape, zooms, dtype


def write_cases(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(4)
    lines = []

    def save(name, img):
        path = os.path.join(out, name)
        nib.save(img, path)
        shape, zooms, dtype = describe(path, path + ".f32")
        lines.append("read %s %d %d %d %d %.9g %.9g %.9g %s %s" % (
            path, *shape, *zooms, dtype, path + ".f32"))

    aff = np.diag([1.25, 1.5, 8.0, 1.0])
    # big-endian int16, 3-D
    hdr = nib.Nifti1Header(endianness=">")
    arr = rng.integers(-3000, 3000, size=(13, 11, 3)).astype(">i2")
    img = nib.Nifti1Image(arr, aff, header=hdr)
    img.set_data_dtype(">i2")
    save("be_int16.nii", img)
    # float data stored as uint8 with scl_slope/scl_inter chosen by nibabel, gzip
    arr = rng.uniform(-40.0, 900.0, size=(9, 10, 4))
    img = nib.Nifti1Image(arr, aff)
    img.set_data_dtype(np.uint8)
    save("scaled_uint8.nii.gz", img)
    # explicit slope and intercept on int16
    arr = rng.integers(0, 2000, size=(8, 7, 2)).astype(np.int16)
    img = nib.Nifti1Image(arr, aff)
    img.header.set_slope_inter(0.25, -100.0)
    save("slope_int16.nii.gz", img)
    # header extensions before vox_offset, float32
    arr = rng.normal(size=(6, 5, 4)).astype(np.float32)
    img = nib.Nifti1Image(arr, aff)
    img.header.extensions.append(nib.nifti1.Nifti1Extension(6, b"a comment extension" * 5))
    img.header.extensions.append(nib.nifti1.Nifti1Extension(4, b"<afni/>" * 3))
    save("ext_float32.nii.gz", img)
    # 4-D int16 (x, y, z, t), big-endian as well
    hdr = nib.Nifti1Header(endianness=">")
    arr = rng.integers(-500, 500, size=(10, 8, 3, 4)).astype(np.int16)
    img = nib.Nifti1Image(arr, np.diag([1.4, 1.4, 10.0, 1.0]), header=hdr)
    img.set_data_dtype(">i2")
    save("be_4d_int16.nii.gz", img)
    # 2-D uint8 mask
    arr = rng.integers(0, 4, size=(12, 9)).astype(np.uint8)
    save("mask2d_uint8.nii.gz", nib.Nifti1Image(arr, np.diag([0.8, 0.9, 1.0, 1.0])))
    # other integer and float types
    for dtype, lo, hi in ((np.int8, -100, 100), (np.uint16, 0, 60000), (np.int32, -10**6, 10**6)):
        arr = rng.integers(lo, hi, size=(5, 6, 2)).astype(dtype)
        save("type_%s.nii" % np.dtype(dtype).name, nib.Nifti1Image(arr, aff))
    arr = rng.normal(size=(5, 6, 2)) * 1e3
    save("type_float64.nii.gz", nib.Nifti1Image(arr.astype(np.float64), aff))
    # spacing given in metres
    img = nib.Nifti1Image(rng.integers(0, 100, size=(4, 4, 2)).astype(np.int16),
                          np.diag([0.0015, 0.0015, 0.01, 1.0]))
    img.header.set_xyzt_units("meter", "sec")
    save("metres_int16.nii", img)
    # NIfTI-2: must be rejected with a message saying so
    path = os.path.join(out, "nifti2.nii.gz")
    nib.save(nib.Nifti2Image(np.zeros((4, 4, 2), np.int16), aff), path)
    lines.append("reject %s NIfTI-2" % path)
    # complex data: unsupported datatype
    path = os.path.join(out, "complex.nii")
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 2), np.complex64), aff), path)
    lines.append("reject %s complex64" % path)

    # nibabel's own test files, when the package ships them
    data = os.path.join(os.path.dirname(nib.__file__), "tests", "data")
    for name in ("anatomical.nii", "functional.nii", "example4d.nii.gz", "standard.nii.gz",
                 "reoriented_anat_moved.nii"):
        path = os.path.join(data, name)
        if os.path.exists(path):
            shape, zooms, dtype = describe(path, os.path.join(out, "shipped_" + name + ".f32"))
            lines.append("read %s %d %d %d %d %.9g %.9g %.9g %s %s" % (
                path, *shape, *zooms, dtype, os.path.join(out, "shipped_" + name + ".f32")))
    path = os.path.join(data, "example_nifti2.nii.gz")
    if os.path.exists(path):
        lines.append("reject %s NIfTI-2" % path)
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--dump":
        shape, zooms, dtype = describe(sys.argv[2], sys.argv[3])
        print("dims %d %d %d %d" % shape)
        print("zooms %.9g %.9g %.9g" % tuple(zooms))
        print("dtype %s" % dtype)
    elif len(sys.argv) == 2:
        write_cases(sys.argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
