/* Internal: a parallel loop over independent work items. */
#ifndef SN_PARALLEL_H
#define SN_PARALLEL_H

#include <stddef.h>
#include <stdint.h>

#include "sparse_native.h"

typedef void (*sn_item_fn)(const void* context, void* scratch, int64_t item);

/* Most threads ever used, the pool's workers included (a guard, not a tuning knob). */
#define SN_MAX_THREADS 1024

/* The number of CPUs this process may run on (its affinity mask; >= 1, <= SN_MAX_THREADS), read once. */
int32_t sn_cpu_count(void);

/* Calls fn(context, scratch, i) exactly once for every i in [0, items), on at most `threads` threads
 * (the calling thread and workers of the library's pool; at most one per usable CPU), each with its own
 * 64-byte aligned scratch of scratch_bytes (a multiple of 64). Items are handed out dynamically, so which
 * thread runs an item varies; fn must make its result depend on the item only. While the pool serves
 * another call, the calling thread runs every item itself. Safe to call from any number of threads at
 * once. Returns SN_OK, or SN_OUT_OF_MEMORY (message set) if not even one thread's scratch can be
 * allocated. Thread-creation failures only reduce parallelism. */
sn_status sn_parallel_for(int32_t threads, int64_t items, size_t scratch_bytes, sn_item_fn fn,
                          const void* context);

#endif
