/* The thread-local error message. A fixed buffer (no allocation) so that reporting an out-of-memory
 * condition cannot itself fail, and so that the pointer returned by sn_last_error() needs no freeing. */
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

SN_API const char* sn_last_error(void)
{
    return sn_message;
}

SN_API const char* sn_status_name(sn_status status)
{
    switch (status) {
    case SN_OK: return "SN_OK";
    case SN_INVALID_ARGUMENT: return "SN_INVALID_ARGUMENT";
    case SN_INVALID_LAYOUT: return "SN_INVALID_LAYOUT";
    case SN_UNSUPPORTED: return "SN_UNSUPPORTED";
    case SN_OUT_OF_MEMORY: return "SN_OUT_OF_MEMORY";
    case SN_INTERNAL: return "SN_INTERNAL";
    case SN_BUFFER_TOO_SMALL: return "SN_BUFFER_TOO_SMALL";
    case SN_NON_FINITE: return "SN_NON_FINITE";
    default: return "SN_UNKNOWN_STATUS";
    }
}
