/* A case stored as an HDF5 file, the SSL4MIS way, read with libhdf5: datasets "image" and
 * "label" at the file's root, of one shape, 2-D or 3-D, of any integer or floating-point
 * type (SSL4MIS: image float32, label uint8). Other members and attributes are ignored;
 * the files hold no voxel spacing (the caller sets it).
 *
 * HDF5 arrays carry no orientation, only their shape (slowest axis first, as h5py shows
 * it); `axes` says which is which: ZYX (SimpleITK's order, SSL4MIS ACDC) or XYZ (pynrrd's,
 * the Left Atrium set). A 2-D array drops the Z. The result is in NIfTI order (x fastest,
 * then y, then z), so that the ACDC loader's slicing and the NIfTI writer take it as is.
 *
 * Every failure is one line naming the file: not an HDF5 file, damaged (with libhdf5's
 * own reason), no "image" or "label" (naming what the file holds), not numbers or numbers
 * of an odd kind, not 2-D or 3-D, image and label of different shapes, more than
 * HDF5_MAX_VOXELS voxels, values kept in other files or behind filters other than gzip,
 * shuffle and fletcher32. libhdf5 runs in a process of its own (hdf5_worker.h), its error
 * printing switched off: a file that crashes it is one more damaged file. One thread at a
 * time. */
#ifndef REUSENET_HDF5IO_H
#define REUSENET_HDF5IO_H

#include <stddef.h>

#include "datasets/hdf5_lib.h"
#include "datasets/nifti.h"

typedef enum Hdf5Axes { HDF5_AXES_ZYX, HDF5_AXES_XYZ } Hdf5Axes;

/* Read path's image and label (spacing 1, nt 1). 0, or -1 with the message set. */
int hdf5_read_case(const char *path, Hdf5Axes axes, NiftiVolume *image, NiftiVolume *label);
/* The same from a whole file held in memory; name names it in messages. */
int hdf5_decode_case(const void *bytes, size_t size, const char *name, Hdf5Axes axes,
                     NiftiVolume *image, NiftiVolume *label);

/* "zyx" / "xyz"; parse returns -1 (message set) for anything else. */
const char *hdf5_axes_name(Hdf5Axes axes);
int hdf5_axes_parse(const char *text, Hdf5Axes *axes);

#endif
