/* pthreads, not OpenMP: libgomp is not guaranteed to exist on the machines a NuGet package lands on,
 * and mixing OpenMP runtimes (with a host that uses libiomp or another libgomp) is a known hazard.
 * Threads are created per call; for the problem sizes worth parallelising this costs a few tens of
 * microseconds, and it keeps the library free of global state and of threads that outlive a call.
 * Scratch is allocated by the calling thread in one block: glibc then reuses the same pages from call
 * to call instead of handing each new thread fresh pages from its own arena (first touch is slow). */
#include "sn_parallel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "sn_error.h"

typedef struct sn_loop {
    atomic_llong next;
    int64_t items;
    sn_item_fn fn;
    const void* context;
} sn_loop;

typedef struct sn_worker {
    sn_loop* loop;
    void* scratch;
    pthread_t thread;
} sn_worker;

int32_t sn_cpu_count(void)
{
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) return 1;
    return n > SN_MAX_THREADS ? SN_MAX_THREADS : (int32_t)n;
}

static void sn_drain(sn_loop* loop, void* scratch)
{
    for (;;) {
        const int64_t item = atomic_fetch_add_explicit(&loop->next, 1, memory_order_relaxed);
        if (item >= loop->items) return;
        loop->fn(loop->context, scratch, item);
    }
}

static void* sn_worker_main(void* arg)
{
    sn_worker* w = arg;
    sn_drain(w->loop, w->scratch);
    return NULL;
}

sn_status sn_parallel_for(int32_t threads, int64_t items, size_t scratch_bytes, sn_item_fn fn,
                          const void* context)
{
    if (items <= 0) return SN_OK;
    int64_t n = threads < 1 ? 1 : threads;
    if (n > items) n = items;
    if (n > SN_MAX_THREADS) n = SN_MAX_THREADS;

    /* One scratch block per thread; with less memory, fewer threads. */
    char* scratch = NULL;
    for (; n >= 1; n /= 2) {
        if (scratch_bytes != 0 && (size_t)n > (SIZE_MAX - 64) / scratch_bytes) continue;
        scratch = aligned_alloc(64, (size_t)n * scratch_bytes + 64);
        if (scratch != NULL) break;
    }
    if (scratch == NULL)
        return sn_fail(SN_OUT_OF_MEMORY, "could not allocate %llu bytes of kernel scratch for one thread",
                       (unsigned long long)scratch_bytes);

    sn_loop loop;
    atomic_init(&loop.next, 0);
    loop.items = items;
    loop.fn = fn;
    loop.context = context;

    sn_worker workers[SN_MAX_THREADS];
    int64_t started = 0;
    for (int64_t t = 1; t < n; ++t) {
        sn_worker* w = &workers[started];
        w->loop = &loop;
        w->scratch = scratch + t * scratch_bytes;
        if (pthread_create(&w->thread, NULL, sn_worker_main, w) != 0) break; /* run with fewer */
        ++started;
    }
    sn_drain(&loop, scratch);
    for (int64_t t = 0; t < started; ++t) pthread_join(workers[t].thread, NULL);
    free(scratch);
    return SN_OK;
}
