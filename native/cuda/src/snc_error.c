/* The thread-local error message. A fixed buffer, so that reporting an allocation failure cannot fail and
 * the pointer handed out needs no freeing. Kept separate from the CPU library's (each library reports its
 * own calls; both can be loaded in one process). */
#include "snc_error.h"

#include <stdarg.h>
#include <stdio.h>

#define SNC_ERROR_CAPACITY 512

static _Thread_local char snc_message[SNC_ERROR_CAPACITY];

sn_status snc_fail(sn_status status, const char* format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(snc_message, sizeof snc_message, format, args); /* truncates, always terminates */
    va_end(args);
    return status;
}

void snc_clear_error(void) { snc_message[0] = '\0'; }

const char* snc_error_message(void) { return snc_message; }
