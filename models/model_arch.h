/* Internal to models/: what each architecture file provides to model.c. */
#ifndef REUSENET_MODEL_ARCH_H
#define REUSENET_MODEL_ARCH_H

#include "models/forward_graph.h"
#include "models/model.h"

#define PSPNET_LAYERS 25
#define UNET_LAYERS 18

/* Fill the table rows (numbered layers in forward order, then the head): names, channels,
 * kernel, stride, padding, dilation, bias. */
void pspnet_describe(const ModelConfig *cfg, Layer *layers);
void unet_describe(const ModelConfig *cfg, Layer *layers);
/* Write the architecture's forward pass as a program of steps (forward_graph.h). */
void pspnet_graph(ForwardGraph *g, Model *m);
void unet_graph(ForwardGraph *g, Model *m);

/* Fill one row; used by the describe functions. */
void layer_describe(Layer *l, const char *conv, const char *bn, int in_ch, int out_ch,
                    int kernel, int stride, int pad, int dilation, bool bias);

#endif
