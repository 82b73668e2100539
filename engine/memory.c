/* What the machine can hold (memory.h). */
#include <sys/resource.h>
#include <unistd.h>

#include "error.h"
#include "memory.h"

double memory_limit_bytes(void)
{
    double bytes = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    if (!(bytes > 0)) bytes = 1e18;               /* unknown: no bound from it */
    const int limits[2] = {RLIMIT_AS, RLIMIT_DATA};
    for (int i = 0; i < 2; i++) {
        struct rlimit r;
        if (getrlimit(limits[i], &r) == 0 && r.rlim_cur != RLIM_INFINITY &&
            (double)r.rlim_cur < bytes)
            bytes = (double)r.rlim_cur;
    }
    return bytes;
}

int memory_check(double bytes, const char *what)
{
    const double limit = memory_limit_bytes(), gib = 1024.0 * 1024.0 * 1024.0;
    if (bytes <= limit) return 0;
    return error_set("%s would need %.3g GiB, more than the %.3g GiB of memory this machine has "
                     "for it",
                     what, bytes / gib, limit / gib);
}
