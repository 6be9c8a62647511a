/*
 * Fatal-signal handlers of the transport stack's libraries, put back to the default
 * action so that a PE that faults or is told to stop dies of that signal, and its
 * launcher says so (core/signals.c explains why).
 */
#ifndef TERN_CORE_SIGNALS_H
#define TERN_CORE_SIGNALS_H

#include <tern/tern.h>

/* Reset to SIG_DFL every fatal-signal handler whose code lies in a library of the
 * transport stack, unless TERN_FOREIGN_SIGNALS=keep (or, for UCX's, UCX_HANDLE_ERRORS,
 * UCX_ERROR_SIGNALS or UCX_DEBUG_SIGNO) asks to keep it. `when` names the moment in the
 * verbose log. Other handlers (the program's, AddressSanitizer's, Tern's) are left alone.
 * TERN_ERR_INVALID for a malformed TERN_FOREIGN_SIGNALS (logged). */
tern_status_t core_signals_reset(const char *when);

#endif
