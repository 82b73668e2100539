/* libhdf5 in a process of its own. libhdf5 1.10.8 (Debian 12's) crashes on some damaged
 * files (found by tests/fuzz/fuzz_hdf5.c: a NULL from malloc of a damaged length copied
 * into, reads past its own buffers); a dataset reader must not. So hdf5_lib_read runs in
 * a reader process forked on first use, which gets the file's bytes over a socket and
 * sends back the arrays or the message. When libhdf5 crashes or takes longer than
 * HDF5_WORKER_SECONDS, that file fails with one line ("damaged HDF5 file: libhdf5 stopped
 * (Segmentation fault) reading it") and the next read starts a new process. The process
 * ends when this one closes its end (at exit). One thread at a time. */
#ifndef REUSENET_HDF5_WORKER_H
#define REUSENET_HDF5_WORKER_H

#include <stddef.h>

#include "datasets/hdf5_lib.h"

enum { HDF5_WORKER_SECONDS = 600 };

/* hdf5_lib_read, in the reader process. Same contract. */
int hdf5_worker_read(const void *bytes, size_t size, const char *name, Hdf5Array out[2]);

#endif
