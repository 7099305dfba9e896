/* sn_last_error and sn_status_name: the CPU library's exported view of its messages and status codes. */
#include "sn_error.h"

SN_API const char* sn_last_error(void)
{
    return sn_error_message();
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
