/* The synthetic cardiac MRI generator (`reusenet data synth`).
 *
 * Writes a dataset in the ACDC layout (dataset.h) that differs by preset the way the
 * paper's three datasets do:
 *   acdc  bSSFP cine (bright blood, dark myocardium), ED and ES frames of 8-10 slices,
 *         ~1.5 mm pixels, 10 mm slice gap, int16; labels RV, myocardium, LV; 100 patients.
 *   t1    native T1 mapping: 11 inversion-recovery images |1 - 2 exp(-TI/T1)| of 5 slices
 *         each (frame01..frame11 = the 11 inversion times, each frame a 5-slice volume with
 *         the same mask), ~1.4 mm, uint16; only the myocardium labelled; 90 patients.
 *   rvsc  another scanner's bSSFP: finer pixels (~0.9 mm, the field of view cuts through
 *         the chest), brighter fat, stronger coil shading and noise, ED and ES frames of 6-9
 *         slices, uint8; only the RV labelled; 32 patients.
 * Each patient gets its own anatomy (synth_anatomy.h), contrast jitter, scanner gain, bias
 * field and Rician noise. Patient i is drawn from (seed, i) alone, so the same seed gives
 * the same bytes, and a dataset of 10 patients is the first 10 of one of 100.
 * Files: DIR/dataset.cfg, DIR/patientNNN/{Info.cfg, patientNNN_frameXX[_gt].nii.gz}. */
#ifndef REUSENET_SYNTH_H
#define REUSENET_SYNTH_H

#include <stdint.h>

typedef struct SynthOptions {
    char preset[8];      /* acdc, t1, rvsc */
    int patients;        /* default 100, 90, 32 */
    uint64_t seed;       /* default 1 */
    int size;            /* in-plane matrix (square); default 192, 160, 192 */
    int slices;          /* slices per volume; 0: the preset's range */
    float noise;         /* noise level relative to the preset's (default 1) */
} SynthOptions;

/* Defaults for preset; -1 (message set) for an unknown preset. */
int synth_defaults(SynthOptions *o, const char *preset);
/* Generate the dataset into dir, which must not exist or be an empty folder. The files
 * are written to a temporary folder next to it, synced, and renamed to dir when complete,
 * so dir never holds a partial dataset. Patients are generated in parallel (OpenMP). */
int synth_write(const char *dir, const SynthOptions *o);

#endif
