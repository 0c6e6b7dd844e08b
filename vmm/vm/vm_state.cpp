// The lifecycle transition table (vm_state.hpp); pure, unit-tested for every (state, command).
#include "vmm/vm/vm_state.hpp"

#include <fmt/format.h>

namespace minivmm::vm {

namespace {
Transition to(VmState next) { return {next, {}}; }
Transition refuse(VmState state, VmCommand command, std::string_view why)
{
    return {std::nullopt, fmt::format("cannot {} a VM that is {}: {}", command_name(command), state_name(state), why)};
}
} // namespace

Transition next_state(VmState state, VmCommand command)
{
    if (command == VmCommand::GuestEnded)
        return to(VmState::Stopping);
    if (command == VmCommand::Query)
        return to(state);
    switch (state) {
    case VmState::Running:
        switch (command) {
        case VmCommand::Pause: return to(VmState::Paused);
        case VmCommand::Resume: return refuse(state, command, "it is not paused");
        case VmCommand::Shutdown: return to(VmState::ShuttingDown);
        case VmCommand::Stop: return to(VmState::Stopping);
        case VmCommand::ChangeLimits:
        case VmCommand::ResizeDisk:
        case VmCommand::Backup: return to(state);
        // The snapshot pauses and resumes around itself (or stays paused when asked).
        case VmCommand::Snapshot: return to(state);
        default: break;
        }
        break;
    case VmState::Paused:
        switch (command) {
        case VmCommand::Pause: return refuse(state, command, "it is already paused");
        case VmCommand::Resume: return to(VmState::Running);
        // A paused guest cannot react to Ctrl-Alt-Del; resume it first (or stop it).
        case VmCommand::Shutdown: return refuse(state, command, "a paused guest cannot handle it (resume first)");
        case VmCommand::Stop: return to(VmState::Stopping);
        // New limits take effect from the next period after the resume.
        case VmCommand::ChangeLimits: return to(state);
        // The guest must see a configuration-change interrupt at once (virtio-v1.2 §4.2.2).
        case VmCommand::ResizeDisk: return refuse(state, command, "the guest must see the change (resume first)");
        // A paused disk does not change: a backup of it is consistent too.
        case VmCommand::Backup: return to(state);
        // Already at the barrier: the snapshot is taken as it is and the VM stays paused.
        case VmCommand::Snapshot: return to(state);
        default: break;
        }
        break;
    case VmState::ShuttingDown:
        switch (command) {
        case VmCommand::Pause: return refuse(state, command, "the guest is shutting down");
        case VmCommand::Resume: return refuse(state, command, "it is not paused");
        case VmCommand::Shutdown: return refuse(state, command, "a shutdown is already in progress");
        case VmCommand::Stop: return to(VmState::Stopping);
        case VmCommand::ChangeLimits:
        case VmCommand::Backup: return to(state);
        case VmCommand::ResizeDisk: return refuse(state, command, "the guest is shutting down");
        case VmCommand::Snapshot: return refuse(state, command, "the guest is shutting down");
        default: break;
        }
        break;
    case VmState::Stopping:
        return refuse(state, command, "it is ending");
    }
    return refuse(state, command, "not allowed");
}

std::string_view state_name(VmState state)
{
    switch (state) {
    case VmState::Running: return "running";
    case VmState::Paused: return "paused";
    case VmState::ShuttingDown: return "shutting_down";
    case VmState::Stopping: return "stopping";
    }
    return "unknown";
}

std::string_view command_name(VmCommand command)
{
    switch (command) {
    case VmCommand::Query: return "query";
    case VmCommand::Pause: return "pause";
    case VmCommand::Resume: return "resume";
    case VmCommand::Shutdown: return "shut down";
    case VmCommand::Stop: return "stop";
    case VmCommand::ChangeLimits: return "change the limits of";
    case VmCommand::ResizeDisk: return "resize a disk of";
    case VmCommand::Backup: return "back up a disk of";
    case VmCommand::Snapshot: return "snapshot";
    case VmCommand::GuestEnded: return "end";
    }
    return "?";
}

} // namespace minivmm::vm
