/* The pool's workers end with the library: dlopen() libsparsenative, make parallel calls (the pool starts its
 * workers), dlclose() it, and the process must be back to one thread (the destructor stopped and joined them;
 * a worker left running would execute unmapped code). Twice, so a reloaded library starts a fresh pool.
 *   test_unload LIBRARY   (this program does not link the library: dlclose really unloads it) */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sparse_native.h"

typedef sn_status (*forward_fn)(const sn_problem*, const sn_layout*, const float*, size_t, const float*, size_t,
                                const float*, size_t, float*, size_t, float*, size_t);

/* The "Threads:" line of /proc/self/status. */
static int thread_count(void)
{
    FILE* f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "Threads:", 8) == 0) n = atoi(line + 8);
    if (f != NULL) fclose(f);
    return n;
}

static void* nothing(void* arg) { return arg; }

int main(int argc, char** argv)
{
    if (argc < 2) { fprintf(stderr, "usage: test_unload LIBRARY\n"); return 2; }
    enum { H = 4, L = 64, D = 16, N = H * L * D };
    static float q[N], k[N], v[N], out[N], lse[H * L];
    for (int i = 0; i < N; ++i) { q[i] = (float)(i % 7) * 0.1f + 0.05f; k[i] = (float)(i % 5) * 0.1f + 0.05f; v[i] = (float)(i % 3) + 0.5f; }
    const int32_t row_offsets[2] = { 0, 1 }, col_indices[1] = { 0 };
    const sn_layout layout = { 64, 1, 1, 1, 1, 0, row_offsets, col_indices };
    const sn_problem p = { 1, H, H, L, L, D, 0, 0, 0.25f, 4, NULL, NULL, 0, 0, 0, 0 };
    /* Start and join one thread first: a runtime that starts a helper thread with the first thread (TSan's
     * background thread) then has it before the count is taken. */
    pthread_t t;
    if (pthread_create(&t, NULL, nothing, NULL) == 0) pthread_join(t, NULL);
    const int before = thread_count();
    for (int round = 0; round < 2; ++round) {
        void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
        if (lib == NULL) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 1; }
        forward_fn forward;
        *(void**)&forward = dlsym(lib, "sn_attention_forward");
        if (forward == NULL) { fprintf(stderr, "dlsym: %s\n", dlerror()); return 1; }
        int most = 0;
        for (int call = 0; call < 20; ++call) {
            const sn_status st = forward(&p, &layout, q, N, k, N, v, N, out, N, lse, H * L);
            if (st != SN_OK) { fprintf(stderr, "forward failed: status %d\n", st); return 1; }
            const int now = thread_count();
            if (now > most) most = now;
        }
        if (dlclose(lib) != 0) { fprintf(stderr, "dlclose: %s\n", dlerror()); return 1; }
        const int after = thread_count();
        printf("round %d: %d threads before, at most %d while calling, %d after dlclose\n", round, before, most, after);
        if (after != before) { fprintf(stderr, "the pool's workers outlived the library\n"); return 1; }
    }
    return 0;
}
