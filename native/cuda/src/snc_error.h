/* Internal: the thread-local last-error message behind snc_last_error(). */
#ifndef SNC_ERROR_H
#define SNC_ERROR_H

#include "sparse_native.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#  define SNC_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#  define SNC_PRINTF(fmt_index, first_arg)
#endif

/* Records a printf-style message for this thread and returns `status`. */
sn_status snc_fail(sn_status status, const char* format, ...) SNC_PRINTF(2, 3);

/* Clears this thread's message; called on entry to every status-returning API function. */
void snc_clear_error(void);

/* This thread's message (the implementation of snc_last_error). */
const char* snc_error_message(void);

#ifdef __cplusplus
}
#endif

#endif
