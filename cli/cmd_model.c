/* reusenet info | init | forward | grad: models and checkpoints from the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "engine/engine.h"
#include "engine/error.h"
#include "engine/fsutil.h"
#include "engine/loss.h"
#include "engine/npy.h"
#include "models/checkpoint.h"
#include "reuse/recalibrate.h"

int cmd_info(int argc, char **argv)
{
    char *pos[1];
    int size = 128;
    const Option opts[] = {
        {"--size", OPT_INT, &size, "S  input S x S for output sizes and FLOPs (default 128, 0: none)", false},
    };
    const OptionSpec spec = {"reusenet info", "Print a checkpoint's architecture, metadata, "
                             "parameter count and layer table.", "CHECKPOINT", 1, 1, opts, 1};
    int rc = options_parse(&spec, argc, argv, pos, NULL);
    if (rc) return rc == 1 ? 0 : rc;
    SafeTensors st;
    ModelConfig cfg;
    Model m = {0};
    if (safetensors_read(pos[0], &st)) return cli_fail("info");
    if (checkpoint_config(&st, &cfg) || model_create(&m, &cfg) ||
        checkpoint_read_tensors(&m, &st)) {
        if (m.layers) model_free(&m);
        safetensors_free(&st);
        return cli_fail("info");
    }
    printf("%s: %s", pos[0], model_arch_name(m.cfg.arch));
    if (model_arch_info(m.cfg.arch)->has_width) printf(" (width %d)", m.cfg.width);
    printf(", %d input channel%s, %d classes, task %s\n", m.cfg.in_channels,
           m.cfg.in_channels == 1 ? "" : "s", m.cfg.classes, model_task_name(m.cfg.task));
    printf("parameters: %zu trainable in %d tensors; %d numbered layers + head\n",
           model_parameter_count(&m), m.params.count, m.n_numbered);
    for (int i = 0; i < st.meta_count; i++)
        printf("metadata: %s = %s\n", st.meta_keys[i], st.meta_values[i]);
    printf("\n");
    model_print_table(&m, stdout, size, size);
    model_free(&m);
    safetensors_free(&st);
    return 0;
}

int cmd_init(int argc, char **argv)
{
    const char *arch = NULL, *task = "seg", *out = NULL;
    int width = 32, classes = 4, in_channels = 1;
    uint64_t seed = 0;
    const Option opts[] = {
        {"--arch", OPT_STRING, &arch, "pspnet|unet", true},
        {"--width", OPT_INT, &width, "F  UNet base width (default 32)", false},
        {"--classes", OPT_INT, &classes, "K  output channels (default 4)", false},
        {"--in-channels", OPT_INT, &in_channels, "C  input channels (default 1)", false},
        {"--task", OPT_STRING, &task, "seg|auto  recorded in the metadata (default seg)", false},
        {"--seed", OPT_U64, &seed, "S  random seed", true},
        {"-o", OPT_STRING, &out, "FILE  output checkpoint (.safetensors)", true},
    };
    const OptionSpec spec = {"reusenet init", "Write a freshly initialised model (PyTorch's "
                             "initialisation, reproducible from the seed).", NULL, 0, 0, opts,
                             sizeof opts / sizeof opts[0]};
    int rc = options_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return rc == 1 ? 0 : rc;
    ModelConfig cfg = {.in_channels = in_channels, .classes = classes, .width = width};
    Model m;
    if (model_arch_parse(arch, &cfg.arch) || model_task_parse(task, &cfg.task) ||
        model_create(&m, &cfg))
        return cli_fail("init");
    model_init_weights(&m, seed);
    char init[64];
    snprintf(init, sizeof init, "seed %llu", (unsigned long long)seed);
    MetaPair meta[] = {{"init", init}};
    rc = checkpoint_save(&m, out, meta, 1);
    model_free(&m);
    if (rc) return cli_fail("init");
    return 0;
}

/* Load the model and the input array, checking that they fit each other. */
static int load_model_and_input(const char *command, const char *weights, const char *input,
                                Model *m, NpyArray *x)
{
    if (checkpoint_load(m, weights)) return cli_fail(command);
    if (npy_read_f32(input, x)) {
        model_free(m);
        return cli_fail(command);
    }
    if (x->ndim != 4 ||
        model_check_input(m, x->shape[0], x->shape[1], x->shape[2], x->shape[3]) ||
        model_check_run(m, x->shape[0], x->shape[2], x->shape[3], !strcmp(command, "grad"))) {
        if (x->ndim != 4) error_set("expected a 4-D array [N, C, H, W], got %d dimensions", x->ndim);
        error_prefix("%s", input);
        npy_free(x);
        model_free(m);
        return cli_fail(command);
    }
    return 0;
}

/* forward --recalibrate: BN statistics of m from the images of x (N, 1, H, W). */
static int recalibrate_on(Model *m, const NpyArray *x, int batch)
{
    if (x->shape[1] != 1) {
        fprintf(stderr, "reusenet forward: --recalibrate takes one-channel images, the input "
                "has %d channels\n", x->shape[1]);
        return 2;
    }
    SliceSet set = {0};
    const int h = x->shape[2], w = x->shape[3];
    for (int i = 0; i < x->shape[0]; i++) {
        Slice s = slice_alloc(h, w);
        memcpy(s.image, (const float *)x->data + (size_t)i * h * w, sizeof(float) * h * w);
        sliceset_push(&set, s);
    }
    bn_recalibrate(m, &set, batch, 0, (size_t)1 << 30);
    sliceset_free(&set);
    return 0;
}

int cmd_forward(int argc, char **argv)
{
    const char *weights = NULL, *input = NULL, *output = NULL, *save = NULL;
    bool train_mode = false;
    int threads = 0, recal_batch = 0;
    const Option opts[] = {
        {"--weights", OPT_STRING, &weights, "FILE  checkpoint", true},
        {"--input", OPT_STRING, &input, "X.npy  float32 [N, C, H, W]", true},
        {"--output", OPT_STRING, &output, "Y.npy  logits [N, K, H, W]", true},
        {"--train-mode", OPT_FLAG, &train_mode, "BN normalises with batch statistics", false},
        {"--recalibrate", OPT_INT, &recal_batch, "B  first set every BN's running mean and "
         "unbiased variance to those of its input over all of X (AdaBN, in passes of B images; "
         "C = 1)", false},
        {"--save-weights", OPT_STRING, &save, "FILE  with --train-mode or --recalibrate: the "
         "checkpoint with its updated running statistics", false},
        {"--threads", OPT_INT, &threads, THREADS_HELP, false},
    };
    const OptionSpec spec = {"reusenet forward", "Run one forward pass (eval mode unless "
                             "--train-mode).", NULL, 0, 0, opts, sizeof opts / sizeof opts[0]};
    int rc = options_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return rc == 1 ? 0 : rc;
    const char *inputs[] = {weights, input, output};
    if (fs_check_output(output, inputs, 2) || (save && fs_check_output(save, inputs, 3)))
        return cli_fail("forward");
    engine_set_threads(threads);
    Model m;
    NpyArray x;
    if ((rc = load_model_and_input("forward", weights, input, &m, &x))) return rc;
    if (recal_batch > 0 && (rc = recalibrate_on(&m, &x, recal_batch))) {
        npy_free(&x);
        model_free(&m);
        return rc;
    }
    Tape t;
    tape_init(&t, 0);
    t.recording = false;
    t.training = train_mode;
    Tensor *y = model_forward(&m, &t, tape_wrap(&t, x.data, 4, x.shape));
    rc = npy_write_f32(output, 4, y->shape, y->data);
    if (!rc && save) rc = checkpoint_save(&m, save, NULL, 0);
    tape_free(&t);
    npy_free(&x);
    model_free(&m);
    return rc ? cli_fail("forward") : 0;
}

int cmd_grad(int argc, char **argv)
{
    const char *weights = NULL, *input = NULL, *target = NULL, *loss_name = NULL, *output = NULL;
    int threads = 0;
    const Option opts[] = {
        {"--weights", OPT_STRING, &weights, "FILE  checkpoint", true},
        {"--input", OPT_STRING, &input, "X.npy  float32 [N, C, H, W]", true},
        {"--target", OPT_STRING, &target, "T.npy  int64 [N, H, W] (ce) or float32 [N, K, H, W] (mse)", true},
        {"--loss", OPT_STRING, &loss_name, "ce|mse", true},
        {"--output", OPT_STRING, &output, "G.safetensors  gradient of every trainable tensor", true},
        {"--threads", OPT_INT, &threads, THREADS_HELP, false},
    };
    const OptionSpec spec = {"reusenet grad", "Write the gradient of the mean loss with "
                             "respect to every trainable parameter (train-mode BN).", NULL, 0,
                             0, opts, sizeof opts / sizeof opts[0]};
    int rc = options_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return rc == 1 ? 0 : rc;
    bool ce = !strcmp(loss_name, "ce");
    if (!ce && strcmp(loss_name, "mse")) {
        fprintf(stderr, "reusenet grad: --loss must be ce or mse, got '%s'\n", loss_name);
        return 2;
    }
    const char *inputs[] = {weights, input, target};
    if (fs_check_output(output, inputs, 3)) return cli_fail("grad");
    engine_set_threads(threads);
    Model m;
    NpyArray x, tgt = {0};
    if ((rc = load_model_and_input("grad", weights, input, &m, &x))) return rc;
    const int n = x.shape[0], h = x.shape[2], w = x.shape[3], k = m.cfg.classes;
    rc = ce ? npy_read_i64(target, &tgt) : npy_read_f32(target, &tgt);
    if (!rc) {
        bool fits = ce ? (tgt.ndim == 3 && tgt.shape[0] == n && tgt.shape[1] == h && tgt.shape[2] == w)
                       : (tgt.ndim == 4 && tgt.shape[0] == n && tgt.shape[1] == k &&
                          tgt.shape[2] == h && tgt.shape[3] == w);
        if (!fits && !ce)
            rc = error_set("%s: expected a float32 target [%d, %d, %d, %d]", target, n, k, h, w);
        if (!fits && ce) rc = error_set("%s: expected an int64 target [%d, %d, %d]", target, n, h, w);
        if (!rc && ce)
            for (size_t i = 0; i < tgt.count; i++) {
                int64_t v = ((int64_t *)tgt.data)[i];
                if (v < 0 || v >= k) {
                    rc = error_set("%s: class %lld at element %zu is outside 0..%d", target,
                                   (long long)v, i, k - 1);
                    break;
                }
            }
    }
    if (!rc) {
        Tape t;
        tape_init(&t, 0);
        t.training = true;
        Tensor *y = model_forward(&m, &t, tape_wrap(&t, x.data, 4, x.shape));
        Tensor *loss;
        if (ce) {
            LabelMap labels = {tgt.data, n, h, w};
            loss = loss_cross_entropy(&t, y, &labels);
        } else {
            loss = loss_mse(&t, y, tape_wrap(&t, tgt.data, 4, tgt.shape));
        }
        params_zero_grad(&m.params);
        tape_backward(&t, loss);
        printf("loss %.9g\n", loss->data[0]);
        SafetensorsWriter wr;
        safetensors_writer_init(&wr);
        for (int i = 0; i < m.params.count; i++) {
            Param *p = &m.params.items[i];
            if (p->kind == PARAM_TRAINABLE)
                safetensors_writer_add_f32(&wr, p->name, p->t.ndim, p->t.shape, p->t.grad);
        }
        rc = safetensors_write(&wr, output);
        safetensors_writer_free(&wr);
        tape_free(&t);
    }
    npy_free(&x);
    if (tgt.data) npy_free(&tgt);
    model_free(&m);
    return rc ? cli_fail("grad") : 0;
}
