// The small machine fuzz_vmstate restores into, shared with the seed generator
// (seeds/make_vmstate_seeds.cpp) so the seeds' device payloads fit it: 16 KiB of guest RAM at 0,
// a 16550, an i8042, an exit port, a virtio-mmio virtio-blk on the 64 KiB memfd disk, a
// virtio-mmio virtio-net on a fake backend, and a rate limiter. Each device is built fresh for
// every restore attempt, as a restore always starts from a freshly built machine.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "devices/legacy/exit_port.hpp"
#include "devices/legacy/i8042.hpp"
#include "devices/legacy/serial_16550.hpp"
#include "devices/virtio/blk/virtio_blk.hpp"
#include "devices/virtio/net/virtio_net.hpp"
#include "devices/virtio/transport/virtio_mmio_transport.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "tests/support/fake_interrupt_line.hpp"
#include "tests/support/fake_net_backend.hpp"
#include "vmm/base/mmap.hpp"
#include "vmm/limiter/rate_limiter.hpp"

namespace minivmm::fuzz {

inline constexpr std::uint64_t kVmstateRamSize = 16 * 1024;
// Device sections by instance, in the order the generator writes them.
enum VmstateDevice : std::uint32_t { kSerial = 0, kI8042 = 1, kExitPort = 2, kBlk = 3, kNet = 4, kDeviceCount = 5 };

inline GuestMemory make_vmstate_memory()
{
    std::vector<GuestMemory::Region> regions;
    regions.push_back({0, Mapping::anonymous(kVmstateRamSize)});
    return GuestMemory(std::move(regions));
}

inline std::unique_ptr<virtio::VirtioMmioTransport> make_blk_transport(const GuestMemory& memory, InterruptLine& line)
{
    virtio::DiskSpec spec;
    spec.path = memfd_disk_path();
    return std::make_unique<virtio::VirtioMmioTransport>("blk", virtio::VirtioBlk::create(spec), memory, line);
}

inline std::unique_ptr<virtio::VirtioMmioTransport> make_net_transport(const GuestMemory& memory, InterruptLine& line,
    testing::FakeNetBackend*& backend, std::shared_ptr<virtio::RequestGate> gate = {})
{
    auto fake = std::make_unique<testing::FakeNetBackend>();
    backend = fake.get();
    virtio::VirtioNet::Options options;
    options.mac = *virtio::MacAddress::parse("02:00:00:00:00:01");
    options.name = "fuzz";
    auto net = std::make_unique<virtio::VirtioNet>(std::move(fake), options);
    net->set_request_gate(std::move(gate));
    return std::make_unique<virtio::VirtioMmioTransport>("net", std::move(net), memory, line);
}

inline limiter::RateLimitConfig vmstate_limiter_config()
{
    limiter::RateLimitConfig config;
    config.bytes = limiter::BucketConfig {1 << 20, 1 << 20, 4096};
    config.ops = limiter::BucketConfig {100, 100, 0};
    return config;
}

} // namespace minivmm::fuzz
