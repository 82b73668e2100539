/* The BLAS behind every convolution, chosen at build time (make BLAS=openblas|blis), and
 * the engine's thread count. The BLAS itself always runs one-threaded: the engine splits
 * its GEMMs over its own threads (gemm.h), so that their bits do not depend on the count. */
#ifndef REUSENET_BLAS_H
#define REUSENET_BLAS_H

#include <stdbool.h>
#include <stdio.h>

/* Set the engine's threads (its OpenMP loops and GEMM tiles; the BLAS keeps one);
 * n <= 0 means all cores. */
void engine_set_threads(int n);
int engine_threads(void);
/* The calling thread's number in its parallel region (0 outside one). */
int engine_thread_index(void);
/* Processors available (1 without OpenMP): a workspace with a slot per processor fits
 * whatever thread count is set after it was sized. */
int engine_processors(void);
/* Threads a parallel loop may use here: 1 inside a parallel region (no nesting), else
 * the count set by engine_set_threads, at most `most` (its units of work) and at most
 * engine_processors() (workspaces have a slot per processor, indexed by
 * engine_thread_index). */
int engine_loop_threads(size_t most);
/* "OpenBLAS 0.3.21" / "BLIS 0.9.0" and the kernel it runs ("Haswell", "zen3", ...). */
const char *blas_library(void);
const char *blas_kernel(void);
/* True when the BLAS runs a generic (non-optimised) kernel on this processor. */
bool blas_kernel_is_generic(void);
/* Where the kernel choice came from: "OPENBLAS_CORETYPE" / "BLIS_ARCH_TYPE" (the
 * environment, set by the user or by engine_configure_process) or the library itself. */
const char *blas_kernel_origin(void);
/* Call first in main(): sets what libgomp and OpenBLAS read before main() and re-executes
 * the program once if it changed anything: passive OpenMP waiting unless OMP_WAIT_POLICY
 * is set, and, when OpenBLAS runs a generic kernel on this processor and
 * OPENBLAS_CORETYPE is unset, the kernel its instruction set features allow (blas.c says
 * why). Returns when nothing needed doing. */
void engine_configure_process(char **argv);
/* What a run's bits depend on besides its data, seed and configuration (README, "What the
 * bits depend on"): the compiler and the flags the engine was built with (the instruction
 * set decides the vector width of its reductions), and the processor's name as the
 * operating system reports it ("" when unknown). The BLAS library and kernel are
 * blas_library() and blas_kernel(); the thread count is not among them. */
const char *engine_build(void);
const char *engine_cpu_name(void);
/* Library, kernel, threads, on stdout-style lines; warns when the kernel is generic. */
void engine_print_config(FILE *out);

#endif
