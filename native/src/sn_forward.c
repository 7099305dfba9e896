/* sn_attention_forward: validate, plan, then run the selected kernel over all work items in parallel. */
#include <stdint.h>

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

SN_API sn_status sn_attention_forward(const sn_problem* problem, const sn_layout* layout,
                                      const float* q, size_t q_len,
                                      const float* k, size_t k_len,
                                      const float* v, size_t v_len,
                                      float* out, size_t out_len,
                                      float* lse, size_t lse_len)
{
    sn_clear_error();
    sn_plan plan;
    sn_status st = sn_plan_build(&plan, problem, layout, q, q_len, k, k_len, v, v_len, out, out_len, lse, lse_len);
    if (st != SN_OK) return st;

    const sn_forward_context ctx = { &plan, sn_select_kernel() };
    const int32_t threads = problem->num_threads == 0 ? sn_cpu_count() : problem->num_threads;
    st = sn_parallel_for(threads, plan.work_items, ctx.kernel->scratch_bytes(&plan), sn_forward_item, &ctx);
    sn_plan_release(&plan);
    return st;
}
