// SegmentDescriptor: what a segment register's hidden part holds after the CPU loads a selector
// (Intel SDM vol 3 §3.4.3 "Segment Registers", §3.4.5 "Segment Descriptors"), for the gdb stub:
// a debugger that writes a selector must also load the descriptor it names, as a `mov` to the
// segment register would. Pure decoding, no KVM; vm_debugger_state.cpp applies it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace minivmm::vm {

struct SegmentDescriptor {
    std::uint64_t base = 0;
    std::uint32_t limit = 0; // in bytes - 1 (the G bit already applied)
    std::uint8_t type = 0;   // bits 40..43
    bool s = false;          // code or data (not a system descriptor)
    std::uint8_t dpl = 0;
    bool present = false;
    bool avl = false;
    bool l = false;  // 64-bit code segment (IA-32e mode)
    bool db = false; // default operation size / big
    bool g = false;  // limit in 4 KiB units
};

// Decodes the 8 bytes of a code or data descriptor (SDM vol 3 Figure 3-8).
SegmentDescriptor decode_segment_descriptor(std::uint64_t raw);

// The hidden part for `selector` in real-address or virtual-8086 mode (SDM vol 3 §20.1.1
// "Address Translation in Real-Address Mode": base = selector * 16, 64 KiB limit).
SegmentDescriptor real_mode_segment(std::uint16_t selector, bool code, bool virtual_8086);

// Where the descriptor of `selector` lies, given the descriptor table it names (GDT or LDT,
// selector bit 2) as base and limit; nullopt when the 8 bytes do not lie wholly within the
// table's limit (a load would #GP, SDM vol 3 §3.4.2 "Segment Selectors").
std::optional<std::uint64_t> descriptor_address(std::uint16_t selector, std::uint64_t table_base, std::uint32_t table_limit);

} // namespace minivmm::vm
