// libFuzzer target: the virtio-mmio register interface in front of a virtio-blk device, driven
// by a sequence of register accesses. Each operation is 12 bytes: kind (read, write, notify),
// width selector, 16-bit offset, 8-byte little-endian value. Guest RAM is 64 KiB at 0, so
// ring addresses the fuzzer writes can land inside or outside it.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "devices/virtio/blk/virtio_blk.hpp"
#include "devices/virtio/transport/virtio_mmio_transport.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "tests/support/fake_interrupt_line.hpp"
#include "vmm/base/mmap.hpp"

using namespace minivmm;
using namespace minivmm::virtio;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::vector<GuestMemory::Region> regions;
    regions.push_back({0, Mapping::anonymous(64 * 1024)});
    GuestMemory memory(std::move(regions));
    testing::FakeInterruptLine line;
    DiskSpec spec;
    spec.path = fuzz::memfd_disk_path();
    VirtioMmioTransport transport("fuzz", VirtioBlk::create(spec), memory, line);

    constexpr std::size_t kOpSize = 12;
    for (std::size_t at = 0; at + kOpSize <= size; at += kOpSize) {
        const std::uint8_t* op = data + at;
        static constexpr std::size_t kWidths[] = {1, 2, 4, 8, 3};
        const std::size_t width = kWidths[op[1] % 5];
        std::uint16_t offset;
        std::memcpy(&offset, op + 2, 2);
        offset %= VirtioMmioTransport::kWindowSize;
        if (offset + width > VirtioMmioTransport::kWindowSize)
            continue; // the Bus never passes an access crossing the window
        std::uint8_t bytes[8];
        std::memcpy(bytes, op + 4, 8);
        switch (op[0] % 4) {
        case 0: transport.read(offset, {bytes, width}); break;
        case 1:
        case 2: transport.write(offset, {bytes, width}); break;
        case 3: transport.notify(bytes[0]); break;
        }
    }
    return 0;
}
