// The x86 debug-register encodings the gdb stub hands KVM_SET_GUEST_DEBUG (Intel SDM vol 3
// §18.2.4 "Debug Control Register (DR7)" and §18.2.3 "Debug Status Register (DR6)").
#pragma once

#include <cstdint>

#include "vmm/gdb/gdb_target.hpp"

namespace minivmm::vm {

// DR6.BS: the #DB came from a single step (TF). DR6.B0-B3 are bits 0-3.
inline constexpr std::uint64_t kDr6SingleStep = 1u << 14;
// DR7 bit 10 reads as 1; GE (bit 9) asks for exact data-breakpoint reporting.
inline constexpr std::uint64_t kDr7Reserved = 1u << 10;
inline constexpr std::uint64_t kDr7Ge = 1u << 9;

// DR7's Ln enable bit, R/Wn and LENn fields for breakpoint slot `slot` (0-3): R/W 00 execute,
// 01 write, 11 read or write (there is no read-only condition); LEN 00 one byte, 01 two,
// 11 four, 10 eight (an execute breakpoint is always LEN 00).
constexpr std::uint64_t dr7_slot_bits(unsigned slot, gdb::BreakpointType type, std::uint64_t length)
{
    const std::uint64_t rw = type == gdb::BreakpointType::Hardware ? 0 : type == gdb::BreakpointType::WriteWatch ? 1 : 3;
    std::uint64_t len = 0;
    if (type != gdb::BreakpointType::Hardware)
        len = length == 2 ? 1 : length == 4 ? 3 : length == 8 ? 2 : 0;
    return (1ull << (slot * 2)) | (rw << (16 + slot * 4)) | (len << (18 + slot * 4));
}

} // namespace minivmm::vm
