/* pthreads, not OpenMP: libgomp is not guaranteed to exist on the machines a NuGet package lands on,
 * and mixing OpenMP runtimes (with a host that uses libiomp or another libgomp) is a known hazard.
 *
 * A persistent pool: a server calls the library continuously, and starting threads per call costs tens
 * of microseconds, as much as a whole small call. The pool is created lazily (static initialisers, so
 * there is nothing to race on), grows on demand to at most one worker per usable CPU besides the caller,
 * and serves one job at a time: a call that finds it busy runs its items on its own thread. That keeps
 * concurrent callers correct without a queue and cannot deadlock (nobody ever waits for the pool to be
 * free, and a caller never waits for a worker that has not joined its job: only for those running its
 * items). Which thread runs an item never changes a result, so results stay bitwise identical.
 *
 * Each worker parks on its own condition variable, so a job for h helpers wakes h workers, not all of them.
 * The library's destructor (dlclose, process exit) tells the workers to stop, at the next item boundary
 * (the caller finishes the job's remaining items itself), and joins them: no thread runs the library's code
 * once it is unmapped. fork() copies only the forking thread: the atfork handlers hold the pool's mutex
 * across fork(), so the child's copy of the pool is consistent, and reset it in the child, which starts its
 * own workers on its first parallel call.
 *
 * Scratch is allocated by the calling thread in one block: glibc then reuses the same pages from call
 * to call instead of handing each thread fresh pages from its own arena (first touch is slow). */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT; pthread_sigmask */
#include "sn_parallel.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "sn_error.h"

typedef struct sn_loop {
    atomic_llong next;
    int64_t items;
    sn_item_fn fn;
    const void* context;
    char* scratch;        /* participant p uses scratch + p * scratch_bytes (the caller is participant 0) */
    size_t scratch_bytes;
} sn_loop;

/* Everything below is guarded by mutex, except `stopping` (read by workers between items). */
static struct sn_pool {
    pthread_mutex_t mutex;
    pthread_cond_t done;  /* the caller waits here for the workers running its items */
    bool busy;            /* a caller owns the pool (from acquiring it until its workers are done) */
    bool open;            /* the current job may still be joined */
    bool stop;            /* the library is being unloaded: workers exit, callers run inline */
    atomic_bool stopping; /* the same, for workers in the middle of a job: take no further item */
    uint64_t generation;  /* incremented per job, so a worker joins each job at most once */
    int32_t participants; /* workers 0 .. participants-1 may join the current job */
    int32_t joined;       /* workers now running the current job's items */
    int32_t workers;      /* threads started */
    sn_loop* job;
    pthread_t threads[SN_MAX_THREADS];
    pthread_cond_t wake[SN_MAX_THREADS]; /* worker t parks on wake[t] */
} pool = { .mutex = PTHREAD_MUTEX_INITIALIZER, .done = PTHREAD_COND_INITIALIZER };

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

int32_t sn_cpu_count(void)
{
    /* Read once: sysconf reads /sys on every call, a measurable cost for a small attention call. The CPUs
     * this process may run on (taskset, cpusets), not all online ones: more threads than that only contend. */
    static atomic_int cached;
    int n = atomic_load_explicit(&cached, memory_order_relaxed);
    if (n == 0) {
        cpu_set_t allowed;
        long usable = sched_getaffinity(0, sizeof allowed, &allowed) == 0 ? CPU_COUNT(&allowed) : 0;
        if (usable < 1) usable = sysconf(_SC_NPROCESSORS_ONLN);
        n = usable < 1 ? 1 : usable > SN_MAX_THREADS ? SN_MAX_THREADS : (int)usable;
        atomic_store_explicit(&cached, n, memory_order_relaxed);
    }
    return n;
}

static void sn_drain(sn_loop* loop, int32_t participant)
{
    void* scratch = loop->scratch + (size_t)participant * loop->scratch_bytes;
    const bool worker = participant > 0;
    for (;;) {
        if (worker && atomic_load_explicit(&pool.stopping, memory_order_relaxed)) return;
        const int64_t item = atomic_fetch_add_explicit(&loop->next, 1, memory_order_relaxed);
        if (item >= loop->items) return;
        loop->fn(loop->context, scratch, item);
    }
}

static void* sn_worker_main(void* arg)
{
    const int32_t index = (int32_t)(intptr_t)arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&pool.mutex);
    for (;;) {
        while (!pool.stop && !(pool.open && pool.generation != seen && index < pool.participants))
            pthread_cond_wait(&pool.wake[index], &pool.mutex);
        if (pool.stop) break;
        seen = pool.generation;
        sn_loop* job = pool.job;
        ++pool.joined;
        pthread_mutex_unlock(&pool.mutex);
        sn_drain(job, index + 1);
        pthread_mutex_lock(&pool.mutex);
        if (--pool.joined == 0 && !pool.open) pthread_cond_signal(&pool.done);
    }
    pthread_mutex_unlock(&pool.mutex);
    return NULL;
}

/* fork() while another thread holds the mutex would leave the child a locked mutex and a half-updated pool. */
static void sn_pool_before_fork(void) { pthread_mutex_lock(&pool.mutex); }

static void sn_pool_after_fork_parent(void) { pthread_mutex_unlock(&pool.mutex); }

/* In the child: no worker was copied, and no caller but the forking thread (which is in fork, not here). */
static void sn_pool_after_fork_child(void)
{
    pthread_cond_init(&pool.done, NULL); /* the wake[] of new workers are initialised as they start */
    pool.busy = pool.open = false;
    pool.participants = pool.joined = pool.workers = 0;
    pool.job = NULL;
    pthread_mutex_unlock(&pool.mutex);
}

static void sn_pool_register_atfork(void)
{
    pthread_atfork(sn_pool_before_fork, sn_pool_after_fork_parent, sn_pool_after_fork_child);
}

/* At library unload (dlclose, or process exit): stop the workers and wait for them. A worker is parked or
 * finishing one item (it takes no further item once `stopping` is set), so this waits for one item at most. */
__attribute__((destructor)) static void sn_pool_shutdown(void)
{
    pthread_mutex_lock(&pool.mutex);
    pool.stop = true;
    atomic_store_explicit(&pool.stopping, true, memory_order_relaxed);
    const int32_t workers = pool.workers;
    for (int32_t t = 0; t < workers; ++t) pthread_cond_signal(&pool.wake[t]);
    pthread_mutex_unlock(&pool.mutex);
    for (int32_t t = 0; t < workers; ++t) pthread_join(pool.threads[t], NULL);
    pthread_mutex_lock(&pool.mutex);
    pool.workers = 0;
    pthread_mutex_unlock(&pool.mutex);
}

/* With the pool owned: starts workers until there are `wanted` (fewer if thread creation fails). Workers
 * block every signal, so that signals meant for the host land on its own threads. */
static void sn_pool_grow(int32_t wanted)
{
    if (pool.workers >= wanted) return;
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    while (pool.workers < wanted) {
        const int32_t t = pool.workers;
        if (pthread_cond_init(&pool.wake[t], NULL) != 0) break;
        if (pthread_create(&pool.threads[t], NULL, sn_worker_main, (void*)(intptr_t)t) != 0) {
            pthread_cond_destroy(&pool.wake[t]);
            break;
        }
        ++pool.workers;
    }
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
}

/* Up to `helpers` workers for the caller, or 0 when the pool is busy (or stopped): the caller runs alone. */
static int32_t sn_pool_acquire(int32_t helpers)
{
    pthread_once(&atfork_once, sn_pool_register_atfork);
    pthread_mutex_lock(&pool.mutex);
    if (pool.busy || pool.stop) {
        pthread_mutex_unlock(&pool.mutex);
        return 0;
    }
    pool.busy = true;
    sn_pool_grow(helpers);
    const int32_t granted = helpers < pool.workers ? helpers : pool.workers;
    if (granted == 0) pool.busy = false;
    pthread_mutex_unlock(&pool.mutex);
    return granted;
}

static void sn_pool_run(sn_loop* loop, int32_t helpers)
{
    pthread_mutex_lock(&pool.mutex);
    pool.job = loop;
    pool.participants = helpers;
    pool.open = true;
    ++pool.generation;
    for (int32_t t = 0; t < helpers; ++t) pthread_cond_signal(&pool.wake[t]);
    pthread_mutex_unlock(&pool.mutex);

    sn_drain(loop, 0);

    /* Every item is taken: close the job to workers that have not joined yet, wait for those that have. */
    pthread_mutex_lock(&pool.mutex);
    pool.open = false;
    while (pool.joined > 0) pthread_cond_wait(&pool.done, &pool.mutex);
    pool.job = NULL;
    pool.participants = 0;
    pool.busy = false;
    pthread_mutex_unlock(&pool.mutex);
}

static void sn_pool_release(void)
{
    pthread_mutex_lock(&pool.mutex);
    pool.busy = false;
    pthread_mutex_unlock(&pool.mutex);
}

sn_status sn_parallel_for(int32_t threads, int64_t items, size_t scratch_bytes, sn_item_fn fn,
                          const void* context)
{
    if (items <= 0) return SN_OK;
    int64_t n = threads < 1 ? 1 : threads;
    if (n > items) n = items;
    if (n > sn_cpu_count()) n = sn_cpu_count();

    const int32_t granted = n > 1 ? sn_pool_acquire((int32_t)n - 1) : 0;

    /* One scratch block per participant; with less memory, fewer participants. */
    int32_t helpers = granted;
    char* scratch = NULL;
    for (;; helpers /= 2) {
        const size_t count = (size_t)helpers + 1;
        if (scratch_bytes == 0 || count <= (SIZE_MAX - 64) / scratch_bytes)
            scratch = aligned_alloc(64, count * scratch_bytes + 64);
        if (scratch != NULL || helpers == 0) break;
    }
    if (scratch == NULL) {
        if (granted > 0) sn_pool_release();
        return sn_fail(SN_OUT_OF_MEMORY, "could not allocate %llu bytes of kernel scratch for one thread",
                       (unsigned long long)scratch_bytes);
    }

    sn_loop loop;
    atomic_init(&loop.next, 0);
    loop.items = items;
    loop.fn = fn;
    loop.context = context;
    loop.scratch = scratch;
    loop.scratch_bytes = scratch_bytes;
    if (granted > 0)
        sn_pool_run(&loop, helpers);
    else
        sn_drain(&loop, 0);
    free(scratch);
    return SN_OK;
}
