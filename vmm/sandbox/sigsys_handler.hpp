// The SIGSYS handler that turns a seccomp violation (SECCOMP_RET_TRAP; seccomp(2), "Filter
// return values") into one stderr line naming the system call and the thread kind, a restored
// terminal and exit code 122 (README.md, "Exit codes"). Async-signal-safe: the syscall names are
// looked up in a table filled before any filter is loaded, the line is formatted on the stack
// (violation_message.hpp), and the handler calls only write(2), the cleanup and _exit(2).
#pragma once

#include "vmm/sandbox/thread_kind.hpp"

namespace minivmm::sandbox {

// Fills the syscall-name table and installs the handler for the whole process. `cleanup` (may
// be null) runs in the handler before the exit and must be async-signal-safe itself
// (RawTerminal::restore_saved). Throws SysError.
void install_sigsys_handler(void (*cleanup)() noexcept);

// Records the calling thread's kind for the violation line (SyscallFilter does this).
void set_current_thread_kind(ThreadKind kind) noexcept;

// Test hook (documented in README.md, "Sandbox"): when the environment variable
// MINIVMM_TEST_SECCOMP_VIOLATION names the calling thread's kind ("vcpu", "event-loop"), the
// thread makes a system call no list allows (uname) right after its filter is loaded, so the
// tests can check the violation path. getenv(3) makes no system call, so the hook is no hole in the filter.
void run_violation_test_hook(ThreadKind kind);

} // namespace minivmm::sandbox
