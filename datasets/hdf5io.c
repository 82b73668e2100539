/* SSL4MIS case files (hdf5io.h): the file read whole and handed to the HDF5 reader process
 * (hdf5_worker.h), which opens it from memory, so that the fuzz target drives the same
 * code as the dataset loader; its arrays then into NIfTI order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/hdf5_worker.h"
#include "datasets/hdf5io.h"
#include "engine/error.h"
#include "engine/fsutil.h"

const char *hdf5_axes_name(Hdf5Axes axes) { return axes == HDF5_AXES_XYZ ? "xyz" : "zyx"; }

int hdf5_axes_parse(const char *text, Hdf5Axes *axes)
{
    if (!strcmp(text, "zyx")) *axes = HDF5_AXES_ZYX;
    else if (!strcmp(text, "xyz")) *axes = HDF5_AXES_XYZ;
    else return error_set("bad axes '%s': zyx (arrays (Z, Y, X), as SimpleITK writes them) or "
                          "xyz (arrays (X, Y, Z), as pynrrd reads them)", text);
    return 0;
}

/* The superblock's signature sits at byte 0, 512, 1024, 2048, ... (after a user block). */
static int has_signature(const unsigned char *bytes, size_t size)
{
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    for (size_t at = 0; at + 8 <= size; at = at ? at * 2 : 512)
        if (!memcmp(bytes + at, sig, 8)) return 1;
    return 0;
}

/* ---- into NIfTI order */

static void to_volume(Hdf5Array *a, Hdf5Axes axes, NiftiVolume *v)
{
    memset(v, 0, sizeof *v);
    const size_t d0 = a->dims[0], d1 = a->dims[1], d2 = a->ndim == 3 ? a->dims[2] : 1;
    for (int k = 0; k < 4; k++) v->spacing[k] = 1.0f;
    v->dim[3] = 1;
    v->datatype = NIFTI_FLOAT32;
    if (axes == HDF5_AXES_ZYX) {          /* (Z, Y, X) or (Y, X): already x fastest */
        v->dim[0] = (int)(a->ndim == 3 ? d2 : d1);
        v->dim[1] = (int)(a->ndim == 3 ? d1 : d0);
        v->dim[2] = (int)(a->ndim == 3 ? d0 : 1);
        v->data = a->data;
    } else {                              /* (X, Y, Z) or (X, Y): transpose */
        const size_t nx = d0, ny = d1, nz = a->ndim == 3 ? d2 : 1;
        v->dim[0] = (int)nx;
        v->dim[1] = (int)ny;
        v->dim[2] = (int)nz;
        v->data = xmalloc_floats(nx * ny * nz);
        for (size_t x = 0; x < nx; x++)
            for (size_t y = 0; y < ny; y++)
                for (size_t z = 0; z < nz; z++)
                    v->data[(z * ny + y) * nx + x] = a->data[(x * ny + y) * nz + z];
        free(a->data);
    }
    a->data = NULL;
}

static void shape_text(const Hdf5Array *a, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%llu", a->dims[0]);
    for (int k = 1; k < a->ndim; k++) n += snprintf(buf + n, len - (size_t)n, "x%llu", a->dims[k]);
}

int hdf5_decode_case(const void *bytes, size_t size, const char *name, Hdf5Axes axes,
                     NiftiVolume *image, NiftiVolume *label)
{
    memset(image, 0, sizeof *image);
    memset(label, 0, sizeof *label);
    if (!has_signature(bytes, size)) return error_set("%s: not an HDF5 file", name);
    Hdf5Array a[2];
    if (hdf5_worker_read(bytes, size, name, a) < 0) return -1;
    if (a[0].ndim != a[1].ndim || memcmp(a[0].dims, a[1].dims, sizeof a[0].dims)) {
        char x[64], y[64];
        shape_text(&a[0], x, sizeof x);
        shape_text(&a[1], y, sizeof y);
        free(a[0].data);
        free(a[1].data);
        return error_set("%s: 'image' (%s) and 'label' (%s) differ in shape", name, x, y);
    }
    to_volume(&a[0], axes, image);
    to_volume(&a[1], axes, label);
    return 0;
}

int hdf5_read_case(const char *path, Hdf5Axes axes, NiftiVolume *image, NiftiVolume *label)
{
    char *bytes;
    size_t size;
    memset(image, 0, sizeof *image);
    memset(label, 0, sizeof *label);
    if (read_whole_file(path, &bytes, &size) < 0) return -1;
    int status = hdf5_decode_case(bytes, size, path, axes, image, label);
    free(bytes);
    return status;
}
