// Segment descriptor decoding (segment_descriptor.hpp), Intel SDM vol 3 §3.4.5.
#include "vmm/vm/segment_descriptor.hpp"

namespace minivmm::vm {

namespace {
constexpr unsigned bit(std::uint64_t raw, unsigned n) { return static_cast<unsigned>((raw >> n) & 1); }
} // namespace

SegmentDescriptor decode_segment_descriptor(std::uint64_t raw)
{
    SegmentDescriptor d;
    // Figure 3-8: limit 15:0 in bits 0..15 and 19:16 in bits 48..51; base 23:0 in bits 16..39
    // and 31:24 in bits 56..63.
    std::uint32_t limit = static_cast<std::uint32_t>((raw & 0xffff) | ((raw >> 32) & 0xf0000));
    d.base = ((raw >> 16) & 0xffffff) | (((raw >> 56) & 0xff) << 24);
    d.type = static_cast<std::uint8_t>((raw >> 40) & 0xf);
    d.s = bit(raw, 44);
    d.dpl = static_cast<std::uint8_t>((raw >> 45) & 3);
    d.present = bit(raw, 47);
    d.avl = bit(raw, 52);
    d.l = bit(raw, 53);
    d.db = bit(raw, 54);
    d.g = bit(raw, 55);
    // §3.4.5 "G (granularity) flag": with G set the limit counts 4 KiB units, and the low 12 bits
    // of an offset are not checked against it.
    d.limit = d.g ? (limit << 12) | 0xfff : limit;
    return d;
}

SegmentDescriptor real_mode_segment(std::uint16_t selector, bool code, bool virtual_8086)
{
    SegmentDescriptor d;
    d.base = std::uint64_t {selector} << 4;
    d.limit = 0xffff;
    d.type = code ? 0xb : 0x3; // execute/read or read/write, accessed
    d.s = true;
    d.dpl = virtual_8086 ? 3 : 0;
    d.present = true;
    return d;
}

std::optional<std::uint64_t> descriptor_address(std::uint16_t selector, std::uint64_t table_base, std::uint32_t table_limit)
{
    const std::uint64_t offset = std::uint64_t {selector} & ~std::uint64_t {7}; // index * 8
    if (offset + 7 > table_limit)
        return std::nullopt;
    return table_base + offset;
}

} // namespace minivmm::vm
