// X86RegisterLayout: gdb's register numbering for x86 guests, the one the `g`/`G`/`p`/`P`
// packets use ("Debugging with GDB" appendix E.3 "Packets") and the target description lists
// (appendix G.5.9 "i386 Features": org.gnu.gdb.i386.core, .sse and .segments, in the order and
// sizes gdb's own i386/amd64 descriptions use), plus minivmm's control-register feature.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "vmm/gdb/gdb_target.hpp"

namespace minivmm::gdb {

struct RegisterSlot {
    std::string_view name;
    unsigned bytes;
    std::string_view type;    // the target-description type
    std::string_view feature; // the target-description feature it belongs to
    std::string_view group;   // "" for the default
};

// The registers of `mode`, in gdb's numbering (index = register number).
std::span<const RegisterSlot> register_layout(CpuMode mode);

// Where register `number` lives in `registers` (its little-endian bytes, exactly `bytes` long);
// nullopt for a number beyond the layout.
std::optional<std::span<std::uint8_t>> register_storage(X86Registers& registers, CpuMode mode, unsigned number);

// Which registers a write may change: all but fiseg and foseg, which the host does not keep.
// The target still refuses a value the CPU would not take (a selector whose descriptor it would
// not load, a reserved MXCSR bit, a CR combination KVM rejects): an error reply.
bool register_is_writable(CpuMode mode, unsigned number);

} // namespace minivmm::gdb
