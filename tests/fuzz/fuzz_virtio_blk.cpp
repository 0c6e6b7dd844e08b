// libFuzzer target: VirtQueue::pop() and virtio-blk request handling over guest memory the
// fuzzer writes. Input: byte 0 picks the queue size, byte 1 the ring features; the rest is the
// first bytes of a 64 KiB guest RAM holding the rings (desc 0x0, avail 0x1000, used 0x2000)
// and every buffer the descriptors point at.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "devices/virtio/blk/virtio_blk.hpp"
#include "devices/virtio/queue/queue_config.hpp"
#include "devices/virtio/queue/virtq_abi.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "vmm/base/mmap.hpp"

using namespace minivmm;
using namespace minivmm::virtio;

namespace {

class NullNotifier final : public DeviceNotifier {
public:
    void signal_used_queue(std::uint16_t) override {}
    void report_guest_error(std::string_view) override {}
    void schedule_queue_rerun(std::uint16_t) override {} // one pass per input is enough
    void notify_config_change() override {}
};

constexpr std::uint64_t kRamSize = 64 * 1024;

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static VirtioBlk* blk = [] {
        DiskSpec spec;
        spec.path = fuzz::memfd_disk_path();
        spec.serial = "fuzz";
        return VirtioBlk::create(spec).release();
    }();
    if (size < 2)
        return 0;
    std::vector<GuestMemory::Region> regions;
    regions.push_back({0, Mapping::anonymous(kRamSize)});
    GuestMemory memory(std::move(regions));
    const std::size_t payload = std::min<std::size_t>(size - 2, kRamSize);
    (void)memory.write(0, {data + 2, payload});

    QueueConfig config(VirtioBlk::kQueueSize);
    config.set_size(static_cast<std::uint16_t>(1u << (data[0] % 10)));
    config.set_desc_table(0x0);
    config.set_avail_ring(0x1000);
    config.set_used_ring(0x2000);
    std::uint64_t features = blk->device_features();
    if (!(data[1] & 1))
        features &= ~feature_bit(VIRTIO_F_INDIRECT_DESC);
    if (!(data[1] & 2))
        features &= ~feature_bit(VIRTIO_F_EVENT_IDX);
    auto queue = config.activate(memory, features);
    if (!queue)
        return 0;
    NullNotifier notifier;
    std::vector<std::optional<VirtQueue>> queues;
    queues.emplace_back(std::move(*queue));
    blk->activate({memory, features, std::move(queues), notifier});
    blk->process_queue(0);
    blk->process_queue(0);
    blk->reset();
    return 0;
}
