// VirtioBlk's snapshot state: the disk's size, whether the device runs, and its request queue
// (devices/virtio/queue/queue_state.hpp); docs/ARCHITECTURE.md "Snapshots" says what is kept.
#include "devices/virtio/blk/virtio_blk.hpp"

#include <fmt/format.h>

#include "devices/virtio/queue/queue_state.hpp"
#include "vmm/snapshot/payload_header.hpp"

namespace minivmm::virtio {
namespace {
constexpr std::uint32_t kStateTag = snapshot::payload_tag("VBLK");
constexpr std::uint16_t kStateVersion = 1;
} // namespace

void VirtioBlk::save_state(snapshot::StateWriter& out) const
{
    // Requests in the engine are neither used nor held: their completion would be lost.
    if (io_in_flight())
        throw snapshot::SnapshotError(fmt::format("virtio-blk: {} requests in flight on the host; a snapshot is "
                                                  "taken only while the VM is paused",
            m_engine->in_flight()));
    snapshot::write_payload_header(out, kStateTag, kStateVersion);
    out.u64(m_image.size_bytes());
    const bool active = m_memory != nullptr;
    out.boolean(active);
    if (!active)
        return;
    std::vector<std::uint16_t> held;
    if (m_runner.held())
        held.push_back(m_runner.held()->head);
    save_queue_state(out, m_queue, held);
}

void VirtioBlk::restore_state(snapshot::StateReader& in, Activation* activation)
{
    snapshot::read_payload_header(in, kStateTag, kStateVersion, "virtio-blk");
    const std::uint64_t size = in.u64();
    // The guest's driver knows the capacity it read; a disk of another size under it would be
    // read and written past what it believes, or short of it.
    if (size != m_image.size_bytes())
        in.fail(fmt::format("the disk was {} bytes at snapshot time and is {} bytes now", size, m_image.size_bytes()));
    const bool active = in.boolean();
    if (active != (activation != nullptr))
        in.fail(fmt::format("virtio-blk saved as {}active under a transport that is {}", active ? "" : "in",
            activation ? "running" : "not running"));
    if (!activation)
        return;
    activate(std::move(*activation));
    auto held = restore_queue_state(in, m_queue, "requestq", 1);
    if (!held.empty())
        m_runner.hold(std::move(held.front()));
}

} // namespace minivmm::virtio
