/* sn_attention_backward: validate (sn_validate.h: the forward's order, with the backward's buffers), plan,
 * transpose the layout, then run the dq pass and the dk/dv pass of the selected variant in parallel
 * (sn_backward_kernel.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sn_backward_kernel.h"
#include "sn_error.h"
#include "sn_kernel.h"
#include "sn_layout_transpose.h"
#include "sn_parallel.h"
#include "sn_validate.h"

/* The backward variant matching the forward's choice (sn_dispatch.c), so SPARSENATIVE_ISA caps both. */
static const sn_backward_kernel* sn_select_backward_kernel(void)
{
    const char* name = sn_select_kernel()->name;
#if defined(SN_HAVE_AVX512BF16_VARIANT)
    if (strcmp(name, sn_backward_kernel_avx512bf16.name) == 0) return &sn_backward_kernel_avx512bf16;
#endif
#if defined(SN_HAVE_X86_VARIANTS)
    if (strcmp(name, sn_backward_kernel_avx512.name) == 0) return &sn_backward_kernel_avx512;
    if (strcmp(name, sn_backward_kernel_avx2.name) == 0) return &sn_backward_kernel_avx2;
#endif
    (void)name;
    return &sn_backward_kernel_generic;
}

typedef struct sn_backward_context {
    const sn_backward_plan* plan;
    const sn_backward_kernel* kernel;
} sn_backward_context;

static void sn_dq_run(const void* context, void* scratch, int64_t item)
{
    const sn_backward_context* ctx = context;
    ctx->kernel->dq_item(ctx->plan, scratch, item);
}

static void sn_dkv_run(const void* context, void* scratch, int64_t item)
{
    const sn_backward_context* ctx = context;
    ctx->kernel->dkv_item(ctx->plan, scratch, item);
}

SN_API sn_status sn_attention_backward(const sn_problem* problem, const sn_layout* layout,
                                       const float* q, size_t q_len,
                                       const float* k, size_t k_len,
                                       const float* v, size_t v_len,
                                       const float* out, size_t out_len,
                                       const float* lse, size_t lse_len,
                                       const float* dout, size_t dout_len,
                                       float* dq, size_t dq_len,
                                       float* dk, size_t dk_len,
                                       float* dv, size_t dv_len)
{
    sn_clear_error();
    const sn_backward_buffers buffers = { q, k, v, out, lse, dout, dq, dk, dv,
                                          q_len, k_len, v_len, out_len, lse_len, dout_len, dq_len, dk_len, dv_len };
    sn_layout_shape shape;
    int64_t* list_base = NULL;
    sn_status st = sn_check_problem(problem);
    if (st != SN_OK || (st = sn_check_float32_only(problem, "sn_attention_backward")) != SN_OK ||
        (st = sn_validate_layout(layout, problem, &shape, &list_base)) != SN_OK)
        return st;
    sn_plan plan;
    sn_plan_init(&plan, problem, &shape, SN_DTYPE_F32);
    if ((st = sn_check_backward_buffers(&plan, (int64_t)sizeof(float), layout, &buffers)) != SN_OK ||
        ((problem->flags & SN_FLAG_ALLOW_NON_FINITE) == 0 &&
         (st = sn_check_backward_finite(&plan, sn_find_non_finite_f32, &buffers)) != SN_OK)) {
        free(list_base);
        return st;
    }
    plan.row_offsets = layout->row_offsets;
    plan.col_indices = layout->col_indices;
    plan.list_base = list_base;
    plan.q = q;
    plan.k = k;
    plan.v = v;
    plan.lse = (float*)(uintptr_t)lse; /* read only: the plan's lse is the forward's output slot */

    int32_t* csc_offsets = NULL;
    int32_t* csc_rows = NULL;
    if ((st = sn_transpose_layout(layout, &shape, list_base, &csc_offsets, &csc_rows)) != SN_OK) {
        free(list_base);
        return st;
    }
    const sn_backward_plan bp = {
        &plan, out, dout, dq, dk, dv, csc_offsets, csc_rows,
        (int64_t)plan.batch * plan.query_heads * plan.query_blocks,
        (int64_t)plan.batch * plan.kv_heads * plan.key_blocks,
    };
    const sn_backward_context ctx = { &bp, sn_select_backward_kernel() };
    const int32_t threads = problem->num_threads == 0 ? sn_cpu_count() : problem->num_threads;
    const size_t scratch = ctx.kernel->scratch_bytes(&plan);
    st = sn_parallel_for(threads, bp.dq_items, scratch, sn_dq_run, &ctx);
    if (st == SN_OK) st = sn_parallel_for(threads, bp.dkv_items, scratch, sn_dkv_run, &ctx);
    free(csc_rows);
    free(csc_offsets);
    free(list_base);
    return st;
}
