/* The self-description functions: ABI version, struct layouts (as a binding will check them), build
 * info, thread-locality of sn_last_error, and that the two deliberately mismatched test libraries
 * (paths in argv[1], argv[2]) really report a wrong version / a wrong layout.
 * Usage: test_abi path/to/libsparsenative_abi_bad_version.so path/to/libsparsenative_abi_bad_layout.so */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "test_util.h"

#define FIELD(type, field) (int32_t) offsetof(type, field)

static void check_struct(const char* name, int32_t which, int32_t size, const int32_t* expected, int32_t count)
{
    int32_t got_size = -1, got[16];
    memset(got, 0xff, sizeof got);
    const int32_t n = sn_struct_layout(which, &got_size, got, 16);
    CHECK(n == count, "%s: %d fields reported, header has %d", name, n, count);
    CHECK(got_size == size, "%s: size %d reported, sizeof is %d", name, got_size, size);
    for (int32_t i = 0; i < count && i < n; ++i)
        CHECK(got[i] == expected[i], "%s: field %d at offset %d, header says %d", name, i, got[i], expected[i]);
    /* max_offsets is honoured and NULLs are allowed. */
    int32_t two[3] = { -1, -1, -1 };
    CHECK(sn_struct_layout(which, NULL, two, 2) == count && two[2] == -1, "%s: wrote past max_offsets", name);
    CHECK(sn_struct_layout(which, NULL, NULL, 0) == count, "%s: NULL arguments", name);
}

static void* make_error_on_other_thread(void* unused)
{
    (void)unused;
    sn_problem p;
    memset(&p, 0, sizeof p);
    sn_attention_forward(&p, NULL, NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0);
    return (void*)(strstr(sn_last_error(), "problem->batch = 0") != NULL ? (void*)1 : NULL);
}

typedef int32_t (*abi_version_fn)(void);
typedef int32_t (*struct_layout_fn)(int32_t, int32_t*, int32_t*, int32_t);

static void* open_symbol(void* lib, const char* name)
{
    void* sym = dlsym(lib, name);
    CHECK(sym != NULL, "dlsym(%s): %s", name, dlerror());
    return sym;
}

static void check_mismatch_libraries(const char* bad_version, const char* bad_layout)
{
    void* lib = dlopen(bad_version, RTLD_NOW | RTLD_LOCAL);
    CHECK(lib != NULL, "dlopen(%s): %s", bad_version, dlerror());
    if (lib != NULL) {
        abi_version_fn version;
        void* sym = open_symbol(lib, "sn_abi_version");
        memcpy(&version, &sym, sizeof version);
        CHECK(sym != NULL && version() != SN_ABI_VERSION, "bad-version library reports the right version");
        dlclose(lib);
    }
    lib = dlopen(bad_layout, RTLD_NOW | RTLD_LOCAL);
    CHECK(lib != NULL, "dlopen(%s): %s", bad_layout, dlerror());
    if (lib != NULL) {
        abi_version_fn version;
        struct_layout_fn layout;
        void* sym = open_symbol(lib, "sn_abi_version");
        memcpy(&version, &sym, sizeof version);
        void* sym2 = open_symbol(lib, "sn_struct_layout");
        memcpy(&layout, &sym2, sizeof layout);
        if (sym != NULL && sym2 != NULL) {
            int32_t size = 0;
            CHECK(version() == SN_ABI_VERSION, "bad-layout library should keep the version");
            layout(SN_STRUCT_PROBLEM, &size, NULL, 0);
            CHECK(size != (int32_t)sizeof(sn_problem), "bad-layout library reports the right sn_problem size");
        }
        dlclose(lib);
    }
}

int main(int argc, char** argv)
{
    CHECK(sn_abi_version() == SN_ABI_VERSION, "sn_abi_version() = %d, header %d", sn_abi_version(), SN_ABI_VERSION);

    const int32_t layout_fields[] = {
        FIELD(sn_layout, block_size),      FIELD(sn_layout, query_blocks), FIELD(sn_layout, key_blocks),
        FIELD(sn_layout, num_layouts),     FIELD(sn_layout, num_col_indices), FIELD(sn_layout, reserved),
        FIELD(sn_layout, row_offsets),     FIELD(sn_layout, col_indices),
    };
    check_struct("sn_layout", SN_STRUCT_LAYOUT, (int32_t)sizeof(sn_layout), layout_fields, 8);
    const int32_t problem_fields[] = {
        FIELD(sn_problem, batch),        FIELD(sn_problem, query_heads),  FIELD(sn_problem, kv_heads),
        FIELD(sn_problem, query_length), FIELD(sn_problem, key_length),   FIELD(sn_problem, head_dim),
        FIELD(sn_problem, format),       FIELD(sn_problem, flags),        FIELD(sn_problem, scale),
        FIELD(sn_problem, num_threads),  FIELD(sn_problem, query_segment_ids), FIELD(sn_problem, key_segment_ids),
        FIELD(sn_problem, q_dtype),      FIELD(sn_problem, k_dtype),      FIELD(sn_problem, v_dtype),
        FIELD(sn_problem, out_dtype),
    };
    check_struct("sn_problem", SN_STRUCT_PROBLEM, (int32_t)sizeof(sn_problem), problem_fields, 16);
    /* The layouts the C# mirror assumes on 64-bit targets. */
    if (sizeof(void*) == 8) {
        CHECK(sizeof(sn_layout) == 40 && offsetof(sn_layout, row_offsets) == 24, "sn_layout 64-bit layout changed");
        CHECK(sizeof(sn_problem) == 72 && offsetof(sn_problem, query_segment_ids) == 40 &&
              offsetof(sn_problem, q_dtype) == 56, "sn_problem 64-bit layout changed");
    }

    const char* info = sn_build_info();
    printf("%s\n", info);
    char abi[32];
    snprintf(abi, sizeof abi, "abi=%d ", SN_ABI_VERSION);
    CHECK(strstr(info, "sparsenative ") == info && strstr(info, abi) != NULL && strstr(info, "selected=") != NULL,
          "build info: %s", info);

    /* sn_last_error is per thread: an error on another thread does not show here. */
    sn_problem p;
    memset(&p, 0, sizeof p);
    CHECK(sn_attention_forward(NULL, NULL, NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0) == SN_INVALID_ARGUMENT, "NULL problem");
    pthread_t thread;
    void* other_ok = NULL;
    CHECK(pthread_create(&thread, NULL, make_error_on_other_thread, NULL) == 0, "pthread_create");
    pthread_join(thread, &other_ok);
    CHECK(other_ok != NULL, "the other thread did not see its own message");
    CHECK(strcmp(sn_last_error(), "problem is NULL") == 0, "this thread's message changed: '%s'", sn_last_error());

    if (argc >= 3) check_mismatch_libraries(argv[1], argv[2]);
    else CHECK(0, "usage: test_abi bad_version.so bad_layout.so");

    printf("abi checks: %d failures\n", test_failures);
    return test_failures == 0 ? 0 : 1;
}
