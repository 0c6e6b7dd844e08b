// Snapshot of a running virtqueue (queue_state.hpp).
#include "devices/virtio/queue/queue_state.hpp"

#include <fmt/format.h>

namespace minivmm::virtio {

void save_queue_state(snapshot::StateWriter& out, const std::optional<VirtQueue>& queue,
    std::span<const std::uint16_t> held)
{
    out.boolean(queue.has_value());
    if (!queue)
        return;
    const VirtQueue::Progress progress = queue->progress();
    out.u16(queue->size());
    out.u16(progress.next_avail);
    out.u16(progress.next_used);
    out.u16(progress.signalled_used);
    out.u32(static_cast<std::uint32_t>(held.size()));
    for (const std::uint16_t head : held)
        out.u16(head);
}

std::vector<DescriptorChain> restore_queue_state(snapshot::StateReader& in, std::optional<VirtQueue>& queue,
    std::string_view name, std::size_t max_held)
{
    const bool enabled = in.boolean();
    if (enabled != queue.has_value())
        in.fail(fmt::format("{} was {} at snapshot time but the restored transport {} it", name,
            enabled ? "running" : "not enabled", queue ? "enables" : "does not enable"));
    if (!enabled)
        return {};
    const std::uint16_t size = in.u16();
    if (size != queue->size())
        in.fail(fmt::format("{} of size {} saved, the restored queue has size {}", name, size, queue->size()));
    VirtQueue::Progress progress;
    progress.next_avail = in.u16();
    progress.next_used = in.u16();
    progress.signalled_used = in.u16();
    const std::uint32_t held_count = in.index(static_cast<std::uint32_t>(max_held) + 1, fmt::format("{} held chains", name));
    // Paused with host I/O completed, every chain taken is used or held -- except one that broke
    // a ring rule after pop() took it: it is neither, and the device waits for the driver's reset
    // (DEVICE_NEEDS_RESET). So the device holds at most what it took and did not use.
    const auto outstanding = static_cast<std::uint16_t>(progress.next_avail - progress.next_used);
    if (held_count > outstanding)
        in.fail(fmt::format("{}: {} chains held but only {} taken and not used (avail {}, used {})", name, held_count,
            outstanding, progress.next_avail, progress.next_used));
    std::vector<DescriptorChain> held;
    held.reserve(held_count);
    for (std::uint32_t i = 0; i < held_count; ++i) {
        const std::uint16_t head = in.u16();
        auto chain = queue->chain_at(head);
        if (!chain)
            in.fail(fmt::format("{}: held chain {} breaks a ring rule: {}", name, head, describe(chain.error())));
        held.push_back(std::move(*chain));
    }
    queue->restore_progress(progress);
    return held;
}

} // namespace minivmm::virtio
