// DR7 encodings for gdb's hardware breakpoints and watchpoints (vmm/vm/debug_registers.hpp;
// Intel SDM vol 3 §18.2.4 "Debug Control Register (DR7)"). This host's KVM never fires data
// breakpoints, so the encoding is checked here rather than end to end.
#include <catch2/catch.hpp>

#include "vmm/vm/debug_registers.hpp"

using namespace minivmm::vm;
using minivmm::gdb::BreakpointType;

TEST_CASE("SDM §18.2.4: an execute breakpoint is Ln set, R/Wn 00, LENn 00", "[debug_registers]")
{
    CHECK(dr7_slot_bits(0, BreakpointType::Hardware, 1) == 0x1);
    CHECK(dr7_slot_bits(2, BreakpointType::Hardware, 8) == 0x10); // LEN stays 00 for execute
}

TEST_CASE("SDM §18.2.4: write and access watchpoints set R/Wn 01 and 11, LENn by length", "[debug_registers]")
{
    // Slot 1, write, 4 bytes: L1 (bit 2), R/W1 = 01 (bits 20-21), LEN1 = 11 (bits 22-23).
    CHECK(dr7_slot_bits(1, BreakpointType::WriteWatch, 4) == 0x00d00004);
    // Slot 3, access, 8 bytes: L3 (bit 6), R/W3 = 11 (bits 28-29), LEN3 = 10 (bits 30-31).
    CHECK(dr7_slot_bits(3, BreakpointType::AccessWatch, 8) == 0xb0000040);
    // Slot 0, write, 2 bytes: LEN0 = 01 (bits 18-19); 1 byte: LEN0 = 00.
    CHECK(dr7_slot_bits(0, BreakpointType::WriteWatch, 2) == 0x00050001);
    CHECK(dr7_slot_bits(0, BreakpointType::WriteWatch, 1) == 0x00010001);
}
