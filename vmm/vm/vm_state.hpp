// VmState and next_state(): the VM's lifecycle as one pure transition table (DESIGN.md, "The
// control plane": one writer of lifecycle state). VmController applies it on the event-loop
// thread; every API request that changes or depends on the lifecycle asks it first, so a request
// the state forbids is refused whole (HTTP 409) and never half done.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace minivmm::vm {

enum class VmState {
    Running,      // vCPUs run, devices serve their queues
    Paused,       // every vCPU parked outside KVM_RUN, device I/O drained, limiter clocks stopped
    ShuttingDown, // running, the guest was asked to shut down (Ctrl-Alt-Del) and has a deadline
    Stopping,     // the VM is ending; nothing more can be done to it
};

// What a request wants from the lifecycle.
enum class VmCommand {
    Query,        // GET /v1/vm, GET /v1/metrics: allowed in every state
    Pause,
    Resume,
    Shutdown,     // Ctrl-Alt-Del, then stop at the deadline
    Stop,         // end the VM now
    ChangeLimits, // PATCH /v1/limits
    ResizeDisk,   // PATCH /v1/disks/{id}
    Backup,       // POST/GET/DELETE /v1/disks/{id}/backup
    Snapshot,     // POST /v1/vm/snapshot: running or paused; ends as it began (or paused, if asked)
    GuestEnded,   // the guest (or a signal, a crash, --timeout) ended the VM: always accepted
};

inline constexpr VmState kAllStates[] = {VmState::Running, VmState::Paused, VmState::ShuttingDown, VmState::Stopping};
inline constexpr VmCommand kAllCommands[] = {VmCommand::Query, VmCommand::Pause, VmCommand::Resume,
    VmCommand::Shutdown, VmCommand::Stop, VmCommand::ChangeLimits, VmCommand::ResizeDisk, VmCommand::Backup,
    VmCommand::Snapshot, VmCommand::GuestEnded};

// The state after `command` in `state`, or why the state forbids it (one line for the API's
// 409 answer). Commands that change nothing in the lifecycle return `state` itself.
struct Transition {
    std::optional<VmState> next;
    std::string refusal; // set when `next` is empty
};
Transition next_state(VmState state, VmCommand command);

// "running", "paused", "shutting_down", "stopping": the API's spelling.
std::string_view state_name(VmState state);
std::string_view command_name(VmCommand command);

} // namespace minivmm::vm
