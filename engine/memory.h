/* What the machine can hold: sizes that come from the user (a crop size, a width, a
 * resampling) are checked against it before anything that large is allocated, so that a
 * mistyped option gets one line saying what it would need instead of an allocation
 * failure, or the machine swapping, minutes later. */
#ifndef REUSENET_MEMORY_H
#define REUSENET_MEMORY_H

/* The bytes this process may use: the machine's physical memory, or less when the
 * process's limits (RLIMIT_AS, RLIMIT_DATA) say so. */
double memory_limit_bytes(void);
/* 0 when `bytes` fit within memory_limit_bytes(); -1 with "WHAT would need X GiB, more than the
 * Y GiB of memory this machine has for it" otherwise. */
int memory_check(double bytes, const char *what);

#endif
