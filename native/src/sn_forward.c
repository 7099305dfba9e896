/* sn_attention_forward: validate (sn_validate.h, in its documented order), plan, then run the selected kernel
 * over all work items in parallel. */
#include <stdint.h>
#include <stdlib.h>

#include "sn_error.h"
#include "sn_kernel.h"
#include "sn_parallel.h"
#include "sn_validate.h"

typedef struct sn_forward_context {
    const sn_plan* plan;
    const sn_kernel* kernel;
} sn_forward_context;

static void sn_forward_item(const void* context, void* scratch, int64_t item)
{
    const sn_forward_context* ctx = context;
    ctx->kernel->run_item(ctx->plan, scratch, item);
}

/* Every check, then the plan; on success *list_base is the plan's list starts (the caller frees it). */
static sn_status sn_plan_build(sn_plan* plan, int64_t** list_base, const sn_problem* problem, const sn_layout* layout,
                               const void* q, size_t q_len, const void* k, size_t k_len, const void* v,
                               size_t v_len, void* out, size_t out_len, float* lse, size_t lse_len)
{
    sn_layout_shape shape;
    sn_status st = sn_check_problem(problem);
    if (st != SN_OK) return st;
    if (problem->k_dtype != problem->v_dtype || problem->q_dtype != problem->out_dtype)
        return sn_fail(SN_UNSUPPORTED,
                       "problem->q_dtype/k_dtype/v_dtype/out_dtype = %d/%d/%d/%d: q and out must share one type, "
                       "k and v another",
                       problem->q_dtype, problem->k_dtype, problem->v_dtype, problem->out_dtype);
    if ((st = sn_validate_layout(layout, problem, &shape, list_base)) != SN_OK) return st;
    sn_plan_init(plan, problem, &shape, problem->q_dtype);
    plan->kv_dtype = problem->k_dtype;
    if ((st = sn_check_buffers(plan, q, q_len, k, k_len, v, v_len, out, out_len, lse, lse_len)) != SN_OK ||
        (st = sn_check_overlaps(plan, q, k, v, out, lse, layout)) != SN_OK ||
        ((problem->flags & SN_FLAG_ALLOW_NON_FINITE) == 0 && (st = sn_check_finite_inputs(plan, q, k, v)) != SN_OK)) {
        free(*list_base);
        *list_base = NULL;
        return st;
    }
    plan->row_offsets = layout->row_offsets;
    plan->col_indices = layout->col_indices;
    plan->list_base = *list_base;
    plan->q = q;
    plan->k = k;
    plan->v = v;
    plan->out = out;
    plan->lse = lse;
    return SN_OK;
}

SN_API sn_status sn_attention_forward(const sn_problem* problem, const sn_layout* layout,
                                      const void* q, size_t q_len,
                                      const void* k, size_t k_len,
                                      const void* v, size_t v_len,
                                      void* out, size_t out_len,
                                      float* lse, size_t lse_len)
{
    sn_clear_error();
    sn_plan plan;
    int64_t* list_base = NULL;
    sn_status st = sn_plan_build(&plan, &list_base, problem, layout, q, q_len, k, k_len, v, v_len, out, out_len,
                                 lse, lse_len);
    if (st != SN_OK) return st;

    const sn_forward_context ctx = { &plan, sn_select_kernel() };
    const int32_t threads = problem->num_threads == 0 ? sn_cpu_count() : problem->num_threads;
    st = sn_parallel_for(threads, plan.work_items, ctx.kernel->scratch_bytes(&plan), sn_forward_item, &ctx);
    free(list_base);
    return st;
}
