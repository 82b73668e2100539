/* Model checkpoints as safetensors files (docs/models.md, "Checkpoints"): every tensor
 * under its PyTorch state_dict name (F32; num_batches_tracked I64 of shape []) and string
 * metadata: arch, in_channels, classes, width (unet), task, plus any extra pairs; a
 * training run adds the preprocessing its slices had: size (the S x S crop/pad) and, when
 * slices were resampled, spacing (mm per pixel), which `reusenet predict` repeats.
 * Files written by PyTorch from the same module load unchanged: without metadata, the
 * configuration is read off the tensors' names and shapes. */
#ifndef REUSENET_CHECKPOINT_H
#define REUSENET_CHECKPOINT_H

#include "engine/safetensors.h"
#include "models/model.h"

typedef struct MetaPair {
    const char *key, *value;
} MetaPair;

/* Add every tensor of m to w under its name: the tensors of a checkpoint (and of the
 * trainer's resume file, which adds the optimizer's beside them). */
void checkpoint_add_tensors(SafetensorsWriter *w, const Model *m);
/* Write m atomically, with the standard metadata and `extra` pairs. 0 or -1. */
int checkpoint_save(Model *m, const char *path, const MetaPair *extra, int n_extra);
/* Create m from a file: configuration from its metadata (or tensors), then all tensors.
 * 0, or -1 with a message naming the file and the problem. */
int checkpoint_load(Model *m, const char *path);
/* The training preprocessing a checkpoint records: size 0 and spacing_mm 0 when absent
 * (spacing absent: the slices were used at their own spacing). */
typedef struct CheckpointPreprocess {
    int size;
    float spacing_mm;
} CheckpointPreprocess;

/* The preprocessing a file records, into pp: 0, or -1 naming a bad value. */
int checkpoint_read_preprocess(const SafeTensors *st, CheckpointPreprocess *pp);
/* checkpoint_load, and the recorded preprocessing into pp (a bad value is an error). */
int checkpoint_load_preprocess(Model *m, const char *path, CheckpointPreprocess *pp);
/* Load a file's tensors into an existing model of the same configuration. */
int checkpoint_load_into(Model *m, const char *path);
/* The configuration a file describes (metadata, or inferred from tensor names/shapes). */
int checkpoint_config(const SafeTensors *st, ModelConfig *cfg);
/* Copy every tensor of m from an opened file; missing num_batches_tracked is tolerated,
 * anything else missing, extra or mis-shaped is an error naming the tensor. */
int checkpoint_read_tensors(Model *m, SafeTensors *st);
/* Read one Param from st (shape-checked). */
int checkpoint_read_param(SafeTensors *st, Param *p);

#endif
