/* lock.h - one run per directory (lock.c). */
#ifndef ATTNDROP_CLI_LOCK_H
#define ATTNDROP_CLI_LOCK_H

/* Locks DIR (which must exist) for this process: the lock's descriptor, kept
 * open until exit, or -1 after printing one line (another run holds it, or
 * the directory cannot be written). */
int dir_lock(const char *dir);

#endif
