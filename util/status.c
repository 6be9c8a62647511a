#include <tern/tern.h>

const char *tern_strerror(tern_status_t status)
{
    switch (status) {
    case TERN_OK: return "success";
    case TERN_INPROGRESS: return "operation in progress";
    case TERN_ERR_RETRY: return "resources busy, try again";
    case TERN_ERR_INVALID: return "invalid argument";
    case TERN_ERR_RANGE: return "index or PE out of range";
    case TERN_ERR_STATE: return "not allowed in the runtime's current state";
    case TERN_ERR_EXISTS: return "name already registered";
    case TERN_ERR_NOT_FOUND: return "not found";
    case TERN_ERR_NOMEM: return "out of memory";
    case TERN_ERR_IO: return "system call failed";
    case TERN_ERR_UNSUPPORTED: return "not supported";
    case TERN_ERR_UNREACHABLE: return "no transport reaches the PE";
    case TERN_ERR_TYPE: return "entry method does not belong to the chare type";
    case TERN_ERR_REMOTE: return "the remote entry method failed";
    default: return "unknown status";
    }
}
