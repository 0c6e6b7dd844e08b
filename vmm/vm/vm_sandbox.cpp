// The Vm's side of the sandbox (vmm/sandbox): once build() has opened everything the VM needs,
// run() confines the process before the first vCPU runs: PR_SET_NO_NEW_PRIVS, the optional
// --jail (jail.hpp), the SIGSYS handler, and one compiled seccomp filter per thread, each loaded
// by its thread (README.md, "Sandbox").
#include "vmm/console/raw_terminal.hpp"
#include "vmm/sandbox/jail.hpp"
#include "vmm/sandbox/sigsys_handler.hpp"
#include "vmm/vm/vm.hpp"

namespace minivmm::vm {

Vm::ThreadFilters Vm::enter_sandbox()
{
    // Inherited by every thread created from here on; seccomp(2) requires it (or
    // CAP_SYS_ADMIN) to load a filter, and it keeps a later execve from gaining privileges.
    sandbox::forbid_new_privileges();
    // Only the main thread exists here, as unshare(CLONE_NEWNS) and setuid() want.
    if (m_config.sandbox.jail)
        sandbox::enter_jail(*m_config.sandbox.jail);
    ThreadFilters filters;
    const sandbox::SeccompMode mode = m_config.sandbox.seccomp;
    if (mode == sandbox::SeccompMode::Off)
        return filters;
    // A violation restores the user's terminal before minivmm ends (raw_terminal.hpp).
    sandbox::install_sigsys_handler(&RawTerminal::restore_saved);
    for (std::size_t index = 0; index < m_runners.size(); ++index)
        filters.vcpus.push_back(sandbox::SyscallFilter::build(sandbox::ThreadKind::Vcpu, mode));
    filters.event_loop = sandbox::SyscallFilter::build(sandbox::ThreadKind::EventLoop, mode);
    for (const auto& service : m_services)
        filters.services.push_back(sandbox::SyscallFilter::build(service.kind, mode));
    return filters;
}

} // namespace minivmm::vm
