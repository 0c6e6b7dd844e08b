// SyscallFilter: one thread kind's allow-list (allow_lists.hpp) compiled into a seccomp-BPF
// filter with libseccomp, built in advance on the main thread and loaded by the thread it is for
// (a filter applies to the thread that loads it and to threads it creates later;
// seccomp(2), SECCOMP_SET_MODE_FILTER). Violations trap (SIGSYS, sigsys_handler.hpp) under
// --seccomp enforce and are logged by the kernel under --seccomp log.
#pragma once

#include <cstddef>

#include "vmm/sandbox/seccomp_mode.hpp"
#include "vmm/sandbox/thread_kind.hpp"

namespace minivmm::sandbox {

class SyscallFilter {
public:
    // Compiles `kind`'s list; `mode` must be Enforce or Log. Throws SysError when libseccomp
    // refuses a rule.
    static SyscallFilter build(ThreadKind kind, SeccompMode mode);
    ~SyscallFilter();
    SyscallFilter(SyscallFilter&& other) noexcept;
    SyscallFilter& operator=(SyscallFilter&& other) noexcept;
    SyscallFilter(const SyscallFilter&) = delete;
    SyscallFilter& operator=(const SyscallFilter&) = delete;

    // Installs the filter on the calling thread (for good: filters cannot be removed) and
    // records the thread's kind for the SIGSYS line. Throws SysError on failure.
    void load_into_current_thread() const;

    [[nodiscard]] ThreadKind kind() const { return m_kind; }

private:
    SyscallFilter(void* context, ThreadKind kind)
        : m_context(context)
        , m_kind(kind)
    {
    }

    void* m_context = nullptr; // scmp_filter_ctx
    ThreadKind m_kind;
};

// Sets PR_SET_NO_NEW_PRIVS on the calling thread (inherited by threads it creates): required to
// load a filter without CAP_SYS_ADMIN, and no later execve could gain privileges. Throws SysError.
void forbid_new_privileges();

} // namespace minivmm::sandbox
