// Segment descriptor decoding (vmm/vm/segment_descriptor.hpp; Intel SDM vol 3 §3.4.5).
#include <catch2/catch.hpp>

#include "vmm/vm/segment_descriptor.hpp"

using namespace minivmm::vm;

TEST_CASE("SDM §3.4.5: a flat 4 GiB code descriptor and a 64-bit one decode field by field", "[segment_descriptor]")
{
    // The classic flat ring-0 code segment: base 0, limit 0xfffff in 4 KiB units, type 0xa
    // (execute/read), S, present, 32-bit.
    const SegmentDescriptor flat = decode_segment_descriptor(0x00cf9a000000ffffull);
    CHECK(flat.base == 0);
    CHECK(flat.limit == 0xffffffffu);
    CHECK(flat.type == 0xa);
    CHECK(flat.s);
    CHECK(flat.dpl == 0);
    CHECK(flat.present);
    CHECK(flat.db);
    CHECK(flat.g);
    CHECK_FALSE(flat.l);
    // Linux's __KERNEL_CS in long mode: L set, D clear.
    const SegmentDescriptor long_code = decode_segment_descriptor(0x00af9b000000ffffull);
    CHECK(long_code.l);
    CHECK_FALSE(long_code.db);
    CHECK(long_code.type == 0xb);
}

TEST_CASE("SDM §3.4.5: base and limit are put together from their split fields; G off keeps bytes", "[segment_descriptor]")
{
    // base 0x12345678 (bits 16..39 = 0x345678, bits 56..63 = 0x12), limit 0x5abcd (bits 0..15 =
    // 0xabcd, bits 48..51 = 0x5), data read/write accessed (3), DPL 3, present, AVL, byte granular.
    const std::uint64_t raw = 0xabcdull | (0x345678ull << 16) | (0x3ull << 40) | (1ull << 44) | (3ull << 45)
        | (1ull << 47) | (0x5ull << 48) | (1ull << 52) | (0x12ull << 56);
    const SegmentDescriptor d = decode_segment_descriptor(raw);
    CHECK(d.base == 0x12345678);
    CHECK(d.limit == 0x5abcd);
    CHECK(d.type == 3);
    CHECK(d.dpl == 3);
    CHECK(d.avl);
    CHECK_FALSE(d.g);
    CHECK_FALSE(decode_segment_descriptor(raw & ~(1ull << 47)).present);
    CHECK_FALSE(decode_segment_descriptor(raw & ~(1ull << 44)).s);
}

TEST_CASE("SDM §20.1.1: a real-mode selector's base is selector * 16, 64 KiB limit", "[segment_descriptor]")
{
    const SegmentDescriptor d = real_mode_segment(0x1234, false, false);
    CHECK(d.base == 0x12340);
    CHECK(d.limit == 0xffff);
    CHECK(d.present);
    CHECK(d.dpl == 0);
    CHECK(real_mode_segment(0xf000, true, false).type == 0xb);
    CHECK(real_mode_segment(0x10, false, true).dpl == 3);
}

TEST_CASE("SDM §3.4.2: the descriptor must lie wholly inside the table's limit", "[segment_descriptor]")
{
    CHECK(descriptor_address(0x10, 0x1000, 0x17) == 0x1010); // index 2, RPL 0
    CHECK(descriptor_address(0x13, 0x1000, 0x17) == 0x1010); // RPL bits do not move it
    CHECK(descriptor_address(0x18, 0x1000, 0x17) == std::nullopt);
    CHECK(descriptor_address(0x10, 0x1000, 0x16) == std::nullopt); // one byte short
    CHECK(descriptor_address(0xfff8, 0x1000, 0xffff) == 0x1000 + 0xfff8);
}
