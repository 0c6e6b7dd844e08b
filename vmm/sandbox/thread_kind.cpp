// Names of the thread kinds (thread_kind.hpp).
#include "vmm/sandbox/thread_kind.hpp"

namespace minivmm::sandbox {

std::string_view thread_kind_name(ThreadKind kind)
{
    switch (kind) {
    case ThreadKind::Vcpu:
        return "vcpu";
    case ThreadKind::EventLoop:
        return "event-loop";
    case ThreadKind::Api:
        return "api";
    case ThreadKind::Backup:
        return "backup";
    case ThreadKind::Gdb:
        return "gdb";
    case ThreadKind::Snapshot:
        return "snapshot";
    }
    return "unknown";
}

} // namespace minivmm::sandbox
