/* Internal: the thread-local last-error message. Compiled into each library (hidden symbols), so each has
 * its own: sn_last_error() reports the CPU library's calls, snc_last_error() the CUDA library's. */
#ifndef SN_ERROR_H
#define SN_ERROR_H

#include "sparse_native.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#  define SN_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#  define SN_PRINTF(fmt_index, first_arg)
#endif

/* Records a printf-style message for this thread and returns `status`, so that validation code can
 * write `return sn_fail(SN_INVALID_ARGUMENT, "problem->batch = %d: must be >= 1", b);`. */
sn_status sn_fail(sn_status status, const char* format, ...) SN_PRINTF(2, 3);

/* Clears this thread's message; called on entry to every status-returning API function. */
void sn_clear_error(void);

/* This thread's message ("" when cleared). Never NULL. */
const char* sn_error_message(void);

#ifdef __cplusplus
}
#endif

#endif
