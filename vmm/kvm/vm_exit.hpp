// VmExit: a typed view of why KVM_RUN returned, decoded once from the shared kvm_run area
// (Documentation/virt/kvm/api.rst, "The kvm_run structure"). Spans point into the run area
// and are valid until the next KVM_RUN.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>

#include <linux/types.h>

namespace minivmm::kvm {

enum class Direction { Read, Write };

struct IoExit {           // KVM_EXIT_IO: an in/out (or ins/outs with count > 1)
    std::uint16_t port;
    Direction direction;
    std::uint8_t size;    // 1, 2 or 4
    std::uint32_t count;  // repetitions for string I/O
    std::span<std::uint8_t> data; // size * count bytes in the run area
};
struct MmioExit {         // KVM_EXIT_MMIO: an access to guest-physical memory no slot backs
    std::uint64_t address;
    Direction direction;
    std::span<std::uint8_t> data; // 1..8 bytes
};
struct ShutdownExit {};   // KVM_EXIT_SHUTDOWN: triple fault
struct HaltExit {};       // KVM_EXIT_HLT (only without an in-kernel LAPIC)
struct InterruptedExit {};// KVM_RUN returned EINTR (a signal, or immediate_exit)
struct SystemEventExit {  // KVM_EXIT_SYSTEM_EVENT: shutdown / reset / crash requested by the guest
    std::uint32_t type;
};
struct InternalErrorExit { // KVM_EXIT_INTERNAL_ERROR: KVM could not handle the guest (e.g. emulation failure)
    std::uint32_t suberror;
    std::span<const __u64> data;
};
struct FailEntryExit {    // KVM_EXIT_FAIL_ENTRY: the hardware refused the guest state
    std::uint64_t reason;
};
struct DebugExit {        // KVM_EXIT_DEBUG: a single step, a debug-register hit or an int3 (KVM_SET_GUEST_DEBUG)
    std::uint32_t exception; // 1 (#DB) or 3 (#BP)
    std::uint64_t pc;
    std::uint64_t dr6;
    std::uint64_t dr7;
};
struct UnknownExit {
    std::uint32_t reason;
};

using VmExit = std::variant<IoExit, MmioExit, ShutdownExit, HaltExit, InterruptedExit, SystemEventExit,
    InternalErrorExit, FailEntryExit, UnknownExit, DebugExit>;

// A short name per exit kind, for --trace ("io", "mmio", "shutdown", ...).
std::string_view exit_name(const VmExit& exit);

} // namespace minivmm::kvm
