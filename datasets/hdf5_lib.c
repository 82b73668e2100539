/* The libhdf5 side of the HDF5 case reader (hdf5_lib.h): open a file image, check what
 * libhdf5 1.10 does not, read "image" and "label". Runs in the reader process
 * (hdf5_worker.c). */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/hdf5_lib.h"
#include "engine/error.h"

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

static int check_space(hid_t space, const char *name, const char *key, Hdf5Array *a)
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

/* ---- what libhdf5 1.10 does not check before it reads (a damaged file could make it read
 * out of bounds: a type size or a compact/contiguous storage size that disagree) */

/* The stored number type: a whole-byte integer, or IEEE float32/float64. */
static int check_type(hid_t type, const char *name, const char *key)
{
    size_t size = H5Tget_size(type);
    if (H5Tget_class(type) == H5T_INTEGER) {
        if ((size == 1 || size == 2 || size == 4 || size == 8) && H5Tget_precision(type) == 8 * size &&
            H5Tget_offset(type) == 0)
            return 0;
    } else {
        const hid_t ieee[4] = {H5T_IEEE_F32LE, H5T_IEEE_F32BE, H5T_IEEE_F64LE, H5T_IEEE_F64BE};
        for (int k = 0; k < 4; k++)
            if (H5Tequal(type, ieee[k]) > 0) return 0;
    }
    H5Eclear2(H5E_DEFAULT);
    return error_set("%s: '%s' holds numbers of a kind this reader does not take (%zu-byte %s; "
                     "it reads integers of 1, 2, 4, 8 bytes and IEEE float32, float64)", name,
                     key, size, H5Tget_class(type) == H5T_INTEGER ? "integers" : "floats");
}

/* The layout and filters: compact or contiguous storage of exactly the array's bytes within
 * the file, or chunks through gzip, shuffle and fletcher32 only; no external files. */
static int check_storage(hid_t dset, hid_t type, size_t voxels, size_t file_size,
                         const char *name, const char *key)
{
    hid_t dcpl = H5Dget_create_plist(dset);
    if (dcpl < 0) return h5_fail(name, "damaged HDF5 file");
    const H5D_layout_t layout = H5Pget_layout(dcpl);
    const hsize_t want = (hsize_t)voxels * H5Tget_size(type), stored = H5Dget_storage_size(dset);
    int status = 0;
    if (H5Pget_external_count(dcpl) != 0 || layout == H5D_VIRTUAL)
        status = error_set("%s: '%s' keeps its values in other files; this reader takes one "
                           "self-contained file per case", name, key);
    else if (layout == H5D_COMPACT || layout == H5D_CONTIGUOUS) {
        haddr_t at = layout == H5D_CONTIGUOUS ? H5Dget_offset(dset) : 0;
        if ((stored != want && !(layout == H5D_CONTIGUOUS && stored == 0)) ||
            (layout == H5D_CONTIGUOUS && stored && (at == HADDR_UNDEF || at > file_size ||
                                                    stored > file_size - at)))
            status = error_set("%s: damaged HDF5 file: '%s' stores %llu bytes for %llu", name,
                               key, (unsigned long long)stored, (unsigned long long)want);
    } else if (layout == H5D_CHUNKED) {
        for (int k = 0, n = H5Pget_nfilters(dcpl); k < n && !status; k++) {
            unsigned flags, config;
            size_t nvalues = 0;
            char fname[64];
            H5Z_filter_t f = H5Pget_filter2(dcpl, (unsigned)k, &flags, &nvalues, NULL,
                                            sizeof fname, fname, &config);
            if (f != H5Z_FILTER_DEFLATE && f != H5Z_FILTER_SHUFFLE && f != H5Z_FILTER_FLETCHER32)
                status = error_set("%s: '%s' is stored through HDF5 filter %d, which this reader "
                                   "does not take (gzip, shuffle and fletcher32 only)", name, key,
                                   (int)f);
        }
    } else {
        status = error_set("%s: damaged HDF5 file: '%s' has an unknown storage layout", name, key);
    }
    H5Pclose(dcpl);
    H5Eclear2(H5E_DEFAULT);
    return status;
}

static int read_array(hid_t file, size_t file_size, const char *name, const char *key, Hdf5Array *a)
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
    if (!status) status = check_type(type, name, key);
    if (!status) status = check_space(space, name, key, a);
    size_t n = status ? 0 : (size_t)a->dims[0] * (size_t)a->dims[1] * (a->ndim == 3 ? (size_t)a->dims[2] : 1);
    if (!status) status = check_storage(dset, type, n, file_size, name, key);
    if (!status) {
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

/* ---- both arrays */

static hsize_t opened_ids(void)
{
    static const H5I_type_t kinds[5] = {H5I_FILE, H5I_DATASET, H5I_DATASPACE, H5I_DATATYPE,
                                        H5I_GENPROP_LST};
    hsize_t total = 0, n;
    for (int k = 0; k < 5; k++)
        if (H5Inmembers(kinds[k], &n) >= 0) total += n;
    return total;
}

int hdf5_lib_read(const void *bytes, size_t size, const char *name, Hdf5Array out[2])
{
    static hsize_t ids_before;
    memset(out, 0, 2 * sizeof *out);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);     /* our one line instead of libhdf5's stack */
    hid_t file = open_image(bytes, size, name);
    if (file < 0) return -1;
    int status = read_array(file, size, name, "image", &out[0]);
    if (!status) status = read_array(file, size, name, "label", &out[1]);
    H5Fclose(file);
    H5Eclear2(H5E_DEFAULT);
    if (status) {
        free(out[0].data);
        free(out[1].data);
        memset(out, 0, 2 * sizeof *out);
    }
    /* every identifier this read opened is closed again (counted against the first read's
     * count: libhdf5's own, the predefined types and default property lists, are there by
     * then) */
    hsize_t after = opened_ids();
    if (!ids_before) ids_before = after;
    if (after != ids_before) {
        if (!status) {
            free(out[0].data);
            free(out[1].data);
            memset(out, 0, 2 * sizeof *out);
        }
        return error_set("%s: internal error: %llu libhdf5 identifiers left open", name,
                         (unsigned long long)(after - ids_before));
    }
    return status;
}
