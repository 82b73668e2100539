/* SSL4MIS case files through libhdf5 (hdf5io.h). The file is read whole and opened from
 * memory (the core driver with a file image), so that the fuzz target drives the same
 * code as the dataset loader. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- libhdf5's errors as one line */

/* The innermost entry of libhdf5's error stack: where the problem was found. */
static herr_t first_error(unsigned n, const H5E_error2_t *e, void *ctx)
{
    if (n == 0 && e->desc) snprintf(ctx, 160, "%s", e->desc);
    return 0;
}

/* "name: what (libhdf5: reason)", the stack then cleared. Returns -1. */
static int h5_fail(const char *name, const char *what)
{
    char reason[160] = "";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, first_error, reason);
    H5Eclear2(H5E_DEFAULT);
    for (char *p = reason; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return reason[0] ? error_set("%s: %s (libhdf5: %s)", name, what, reason)
                     : error_set("%s: %s", name, what);
}

/* The superblock's signature sits at byte 0, 512, 1024, 2048, ... (after a user block). */
static int has_signature(const unsigned char *bytes, size_t size)
{
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    for (size_t at = 0; at + 8 <= size; at = at ? at * 2 : 512)
        if (!memcmp(bytes + at, sig, 8)) return 1;
    return 0;
}

/* ---- what the file holds, for the message when a key is missing */

typedef struct Members {
    char text[200];
    int count;
} Members;

static herr_t add_member(hid_t group, const char *name, const H5L_info_t *info, void *ctx)
{
    (void)group;
    (void)info;
    Members *m = ctx;
    size_t used = strlen(m->text);
    if (m->count++ < 8 && used + strlen(name) + 8 < sizeof m->text)
        snprintf(m->text + used, sizeof m->text - used, "%s'%s'", used ? ", " : "", name);
    return 0;
}

static int missing_key(hid_t file, const char *name, const char *key)
{
    Members m = {"", 0};
    hsize_t idx = 0;
    H5Literate(file, H5_INDEX_NAME, H5_ITER_NATIVE, &idx, add_member, &m);
    H5Eclear2(H5E_DEFAULT);
    return error_set("%s: no dataset '%s' (a case file holds 'image' and 'label'; this one "
                     "holds %s%s)", name, key, m.count ? m.text : "nothing",
                     m.count > 8 ? ", ..." : "");
}

/* ---- one array */

typedef struct Array {
    int ndim;
    hsize_t dims[3];
    float *data;          /* C order: the last axis fastest */
} Array;

static int check_space(hid_t space, const char *name, const char *key, Array *a)
{
    int ndim = H5Sget_simple_extent_ndims(space);
    if (ndim < 0 || H5Sget_simple_extent_type(space) != H5S_SIMPLE)
        return error_set("%s: '%s' is not an array", name, key);
    if (ndim != 2 && ndim != 3)
        return error_set("%s: '%s' has %d dimensions; expected 2 (a slice) or 3 (a volume)",
                         name, key, ndim);
    H5Sget_simple_extent_dims(space, a->dims, NULL);
    size_t voxels = 1;
    for (int k = 0; k < ndim; k++) {
        if (a->dims[k] == 0) return error_set("%s: '%s' is empty (an axis of length 0)", name, key);
        if (a->dims[k] > HDF5_MAX_VOXELS || (voxels *= (size_t)a->dims[k]) > HDF5_MAX_VOXELS)
            return error_set("%s: '%s' has more than %zu voxels", name, key, HDF5_MAX_VOXELS);
    }
    a->ndim = ndim;
    return 0;
}

static int read_array(hid_t file, const char *name, const char *key, Array *a)
{
    memset(a, 0, sizeof *a);
    htri_t there = H5Lexists(file, key, H5P_DEFAULT);
    if (there < 0) return h5_fail(name, "damaged HDF5 file");
    if (!there) return missing_key(file, name, key);
    H5O_info_t info;
    char what[96];
    if (H5Oget_info_by_name2(file, key, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
        snprintf(what, sizeof what, "damaged HDF5 file, cannot open '%s'", key);
        return h5_fail(name, what);
    }
    if (info.type != H5O_TYPE_DATASET)
        return error_set("%s: '%s' is not a dataset (a %s)", name, key,
                         info.type == H5O_TYPE_GROUP ? "group" : "named type");
    hid_t dset = H5Dopen2(file, key, H5P_DEFAULT);
    if (dset < 0) {
        snprintf(what, sizeof what, "damaged HDF5 file, cannot open '%s'", key);
        return h5_fail(name, what);
    }
    hid_t type = H5Dget_type(dset), space = H5Dget_space(dset);
    int status = type < 0 || space < 0 ? h5_fail(name, "damaged HDF5 file") : 0;
    if (!status) {
        H5T_class_t cls = H5Tget_class(type);
        if (cls != H5T_INTEGER && cls != H5T_FLOAT)
            status = error_set("%s: '%s' does not hold numbers (HDF5 type class %d)", name, key,
                               (int)cls);
    }
    if (!status) status = check_space(space, name, key, a);
    if (!status) {
        size_t n = (size_t)a->dims[0] * (size_t)a->dims[1] * (a->ndim == 3 ? (size_t)a->dims[2] : 1);
        a->data = xmalloc_floats(n);
        if (H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, a->data) < 0) {
            snprintf(what, sizeof what, "damaged HDF5 file, cannot read '%s'", key);
            status = h5_fail(name, what);
            free(a->data);
            a->data = NULL;
        }
    }
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    H5Dclose(dset);
    return status;
}

/* ---- into NIfTI order */

static void to_volume(Array *a, Hdf5Axes axes, NiftiVolume *v)
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

/* ---- the file */

static hid_t open_image(const void *bytes, size_t size, const char *name)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    hid_t file = -1;
    if (fapl >= 0 && H5Pset_fapl_core(fapl, 1 << 16, 0) >= 0 &&
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0 &&
        H5Pset_file_image(fapl, (void *)bytes, size) >= 0)
        /* the core driver refuses an image whose name is a file on disk: a name that
         * cannot be one */
        file = H5Fopen("/dev/null/hdf5-image", H5F_ACC_RDONLY, fapl);
    if (file < 0) h5_fail(name, "damaged HDF5 file, cannot open it");
    if (fapl >= 0) H5Pclose(fapl);
    return file;
}

int hdf5_decode_case(const void *bytes, size_t size, const char *name, Hdf5Axes axes,
                     NiftiVolume *image, NiftiVolume *label)
{
    memset(image, 0, sizeof *image);
    memset(label, 0, sizeof *label);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);     /* our one line instead of libhdf5's stack */
    if (!has_signature(bytes, size)) return error_set("%s: not an HDF5 file", name);
    hid_t file = open_image(bytes, size, name);
    if (file < 0) return -1;
    Array img, lab = {0};
    int status = read_array(file, name, "image", &img);
    if (!status) status = read_array(file, name, "label", &lab);
    if (!status && (img.ndim != lab.ndim || memcmp(img.dims, lab.dims, sizeof img.dims))) {
        char a[64], b[64];
        int n = snprintf(a, sizeof a, "%llu", (unsigned long long)img.dims[0]);
        for (int k = 1; k < img.ndim; k++) n += snprintf(a + n, sizeof a - (size_t)n, "x%llu", (unsigned long long)img.dims[k]);
        n = snprintf(b, sizeof b, "%llu", (unsigned long long)lab.dims[0]);
        for (int k = 1; k < lab.ndim; k++) n += snprintf(b + n, sizeof b - (size_t)n, "x%llu", (unsigned long long)lab.dims[k]);
        status = error_set("%s: 'image' (%s) and 'label' (%s) differ in shape", name, a, b);
    }
    H5Fclose(file);
    H5Eclear2(H5E_DEFAULT);
    if (status) {
        free(img.data);
        free(lab.data);
        return -1;
    }
    to_volume(&img, axes, image);
    to_volume(&lab, axes, label);
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
