// FakeVirtioDevice: a minimal VirtioDevice for transport tests: two queues, a 16-byte config
// space holding bytes 0..15, and a queue handler that returns every chain with its writable
// length and reports ring errors as the real devices do.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "devices/virtio/queue/virtq_abi.hpp"
#include "devices/virtio/transport/virtio_device.hpp"

namespace minivmm::testing {

class FakeVirtioDevice final : public virtio::VirtioDevice {
public:
    static constexpr std::uint32_t kDeviceId = 42;
    static constexpr std::uint64_t kFeatures = virtio::feature_bit(32) /* VIRTIO_F_VERSION_1 */
        | virtio::feature_bit(virtio::VIRTIO_F_EVENT_IDX) | virtio::feature_bit(3);

    struct Counters {
        int activations = 0;
        int resets = 0;
        int processed = 0;
        std::vector<std::uint8_t> config_writes;
    };
    explicit FakeVirtioDevice(Counters& counters) : m_counters(counters)
    {
        for (std::uint8_t i = 0; i < 16; ++i)
            m_config[i] = i;
    }

    std::uint32_t device_id() const override { return kDeviceId; }
    std::uint64_t device_features() const override { return kFeatures; }
    std::uint16_t queue_count() const override { return 2; }
    std::uint16_t queue_max_size(std::uint16_t) const override { return 16; }
    void read_config(std::uint64_t offset, std::span<std::uint8_t> data) const override
    {
        for (std::size_t i = 0; i < data.size(); ++i)
            data[i] = offset + i < 16 ? m_config[offset + i] : 0;
    }
    void write_config(std::uint64_t, std::span<const std::uint8_t> data) override
    {
        m_counters.config_writes.assign(data.begin(), data.end());
    }
    void activate(Activation activation) override
    {
        ++m_counters.activations;
        m_queues = std::move(activation.queues);
        m_notifier = &activation.notifier;
    }
    void reset() override
    {
        ++m_counters.resets;
        m_queues.clear();
        m_notifier = nullptr;
    }
    void process_queue(std::uint16_t index) override
    {
        ++m_counters.processed;
        if (index >= m_queues.size() || !m_queues[index])
            return;
        auto& queue = *m_queues[index];
        for (;;) {
            auto popped = queue.pop();
            if (!popped) {
                m_notifier->report_guest_error(virtio::describe(popped.error()));
                return;
            }
            if (!*popped)
                break;
            queue.add_used((*popped)->head, static_cast<std::uint32_t>((*popped)->writable_bytes));
        }
        if (queue.needs_notification())
            m_notifier->signal_used_queue(index);
    }

private:
    Counters& m_counters;
    std::uint8_t m_config[16];
    std::vector<std::optional<virtio::VirtQueue>> m_queues;
    virtio::DeviceNotifier* m_notifier = nullptr;
};

} // namespace minivmm::testing
