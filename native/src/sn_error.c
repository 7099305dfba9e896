/* The thread-local error message. A fixed buffer (no allocation) so that reporting an out-of-memory
 * condition cannot itself fail, and so that the pointer handed out needs no freeing. */
#include "sn_error.h"

#include <stdarg.h>
#include <stdio.h>

#define SN_ERROR_CAPACITY 512

static _Thread_local char sn_message[SN_ERROR_CAPACITY];

sn_status sn_fail(sn_status status, const char* format, ...)
{
    va_list args;
    va_start(args, format);
    /* vsnprintf truncates and always terminates; a truncated message is still useful. */
    vsnprintf(sn_message, sizeof sn_message, format, args);
    va_end(args);
    return status;
}

void sn_clear_error(void)
{
    sn_message[0] = '\0';
}

const char* sn_error_message(void)
{
    return sn_message;
}
