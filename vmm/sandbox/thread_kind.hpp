// ThreadKind: the kinds of threads minivmm runs, each confined by its own seccomp allow-list
// (allow_lists.hpp). A new kind of thread (API server, migration, backup) is one more value
// here and one more list there.
#pragma once

#include <array>
#include <string_view>

namespace minivmm::sandbox {

enum class ThreadKind {
    Vcpu,      // one per vCPU: KVM_RUN and exit dispatch (vmm/vm/vcpu_runner.cpp)
    EventLoop, // the main thread: the event loop, then teardown and exit (vmm/vm/vm.cpp)
    Api,       // the control API's HTTP server (vmm/api/api_server.cpp), with --api-socket only
    Backup,    // online backups' file work (vmm/backup/backup_worker.hpp), with --api-socket only
    Gdb,       // the gdb stub (vmm/gdb/gdb_server.hpp), with --gdb only
    Snapshot,  // snapshots' KVM state reads and file work (vmm/vm/vm_snapshot.cpp), with --api-socket only
};

inline constexpr std::array kAllThreadKinds {ThreadKind::Vcpu, ThreadKind::EventLoop, ThreadKind::Api,
    ThreadKind::Backup, ThreadKind::Gdb, ThreadKind::Snapshot};

// "vcpu", "event-loop", "api", "backup", "gdb", "snapshot": the name in the SIGSYS message and in the documentation.
[[nodiscard]] std::string_view thread_kind_name(ThreadKind kind);

} // namespace minivmm::sandbox
