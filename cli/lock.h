/* lock.h - one run per directory (lock.c). */
#ifndef ATTNDROP_CLI_LOCK_H
#define ATTNDROP_CLI_LOCK_H

/* Locks DIR (which must exist) for this process: the lock's descriptor, kept
 * open until exit, or -1 after printing one line (another run holds it, or
 * the directory cannot be written). */
int dir_lock(const char *dir);
/* Shard K of N of a study on DIR: DIR's lock shared with the other shards
 * (refused while a train, an unsharded study or a report holds it, and
 * holding them off) and shard K's own exclusively, into *shard_fd; the
 * shared lock's descriptor, or -1 after one line. */
int dir_lock_shard(const char *dir, int shard, int n_shards, int *shard_fd);

#endif
