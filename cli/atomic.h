/* atomic.h - whole-or-nothing file writes (atomic.c). */
#ifndef ATTNDROP_CLI_ATOMIC_H
#define ATTNDROP_CLI_ATOMIC_H

#include <stdio.h>

typedef struct {
    FILE *f;
    char path[4096], tmp[4160];
} atomic_file;

/* Opens PATH.<pid>.tmp for writing; NULL (errno set) on failure. */
FILE *atomic_open(atomic_file *a, const char *path);
/* Flushes, fsyncs and renames the temporary file over the target; on any
 * failure removes it, leaves the target as it was and returns -1 (errno set). */
int atomic_close(atomic_file *a);
/* Removes the temporary file, leaving the target as it was. */
void atomic_abort(atomic_file *a);

#endif
