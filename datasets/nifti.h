/* NIfTI-1 volumes (.nii and .nii.gz), read and written with zlib only.
 *
 * The NIfTI-1 header is a fixed 348-byte struct (https://nifti.nimh.nih.gov/nifti-1).
 * The reader honours what real files vary in: byte order (sizeof_hdr reads 348 in the
 * file's order), datatype (uint8, int8, int16, uint16, int32, uint32, int64,
 * uint64, float32, float64),
 * dim[0] = 2..4 (dims 5..7 must be 1), pixdim with xyzt_units (metres and microns are
 * converted to mm), vox_offset (header extensions before it are skipped), and
 * scl_slope/scl_inter (value = slope * stored + inter; slope 0 or NaN means unscaled).
 * It rejects, each with a message that says so: NIfTI-2 (sizeof_hdr 540), header/image
 * pairs (magic "ni1"), Analyze 7.5 (no magic), other datatypes (complex, RGB, ...), and
 * headers whose dims need more bytes than the file holds. Every message names the file. */
#ifndef REUSENET_NIFTI_H
#define REUSENET_NIFTI_H

#include <stddef.h>

/* NIfTI-1 datatype codes (nifti1.h, DT_*). */
enum {
    NIFTI_UINT8 = 2,
    NIFTI_INT16 = 4,
    NIFTI_INT32 = 8,
    NIFTI_FLOAT32 = 16,
    NIFTI_FLOAT64 = 64,
    NIFTI_INT8 = 256,
    NIFTI_UINT16 = 512,
    NIFTI_UINT32 = 768,
    NIFTI_INT64 = 1024,
    NIFTI_UINT64 = 1280,
};

enum { NIFTI_HEADER_SIZE = 348, NIFTI_DATA_OFFSET = 352 };

typedef struct NiftiVolume {
    int dim[4];          /* nx, ny, nz, nt; 1 for dimensions the file does not have */
    float spacing[4];    /* |pixdim[1..4]|: x, y, z in mm (unset: 1); t in the file's unit */
    int datatype;        /* NIfTI code of the stored values (set by the reader) */
    int big_endian;      /* the file was big-endian (set by the reader, for `data info`) */
    float *data;         /* nx*ny*nz*nt values, x fastest, then y, z, t; scaling applied */
} NiftiVolume;

/* The 348 header bytes of a file as read (in its own byte order), kept so that a volume
 * derived from it (a mask, class probabilities) is written on the same grid. */
typedef struct NiftiHeader {
    unsigned char raw[NIFTI_HEADER_SIZE];
    int big_endian;
} NiftiHeader;

/* Read a .nii or .nii.gz file (gzip is detected from the content, not the name). */
int nifti_read(const char *path, NiftiVolume *v);
/* nifti_read, and the file's header into hdr. */
int nifti_read_with_header(const char *path, NiftiVolume *v, NiftiHeader *hdr);
/* Parse an uncompressed NIfTI-1 file held in memory; name is used in messages. */
int nifti_decode(const void *bytes, size_t size, const char *name, NiftiVolume *v);
/* Write v as `datatype` (any code above; integer types are rounded and clamped), little-
 * endian, vox_offset 352, unscaled; gzip-compressed when path ends in ".gz". With atomic,
 * through engine/atomic_file.h (temporary file, fsync, rename); without, straight to path,
 * for a caller that fills a fresh folder and publishes the whole folder atomically (the
 * generator). Returns 0 or -1 with a message naming path. */
int nifti_write(const char *path, const NiftiVolume *v, int datatype, int atomic);
/* Write v on the grid of `like` (atomically; gzip when path ends in ".gz"): dims from v, and
 * from like: dim[0], pixdim (with qfac), xyzt_units, dim_info, slice timing fields, toffset,
 * qform and sform with their codes, quaternion, offsets and srow rows, so that a viewer
 * lays the result over the image it came from. components > 1: v->data holds that many
 * volumes one after the other, stored as dim[5] (dim[0] = 5, intent NIFTI_INTENT_VECTOR,
 * the NIfTI-1 place for several values per voxel). Little-endian, unscaled. 0 or -1. */
int nifti_write_like(const char *path, const NiftiVolume *v, int components, int datatype,
                     const NiftiHeader *like);
/* "int16", "float32", ...; NULL for a code the reader does not support. */
const char *nifti_datatype_name(int datatype);
size_t nifti_voxel_count(const NiftiVolume *v);
void nifti_free(NiftiVolume *v);

#endif
