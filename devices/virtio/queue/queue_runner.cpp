// QueueRunner: taking the next chain of a pass -- budget, held chain, broken-ring stop
// (virtio-v1.2 §2.7.13, §2.1.2).
#include "devices/virtio/queue/queue_runner.hpp"

#include <fmt/format.h>

namespace minivmm::virtio {

QueueRunner::Next QueueRunner::next(VirtQueue& queue, DeviceNotifier& notifier)
{
    if (m_broken)
        return {std::nullopt, End::Broken};
    if (m_taken >= m_budget) {
        // More may be waiting (the driver keeps adding while we work): let the loop serve its
        // other fds, then run this queue again.
        notifier.schedule_queue_rerun(m_queue);
        return {std::nullopt, End::Budget};
    }
    if (m_held) {
        ++m_taken;
        Next next{std::move(m_held), End::Empty};
        m_held.reset();
        return next;
    }
    auto popped = queue.pop();
    if (!popped) {
        // virtio-v1.2 §2.1.2: the device needs a reset; said once, then the queue stays still.
        m_broken = true;
        notifier.report_guest_error(fmt::format("{}: {}", m_name, describe(popped.error())));
        return {std::nullopt, End::Broken};
    }
    if (!*popped)
        return {std::nullopt, End::Empty};
    ++m_taken;
    return {std::move(*popped), End::Empty};
}

} // namespace minivmm::virtio
