// Snapshot of one running split virtqueue, device side (issue "Snapshot and restore";
// virtio-v1.2 §2.7 "Split Virtqueues"): the device's progress through the rings (next avail
// entry, next used entry, the used index last signalled) and the heads of the chains it took
// from the available ring and has not put in the used ring (a chain a rate limiter refused,
// receive buffers waiting for a frame). The rings live in guest RAM and come back with it.
//
// The snapshot is taken while the VM is paused, host I/O completed: every chain the device took
// is then either used or held, or broke a ring rule (the device then waits for a reset), so
// next_avail - next_used >= the number held. Restore checks that, and re-walks every held head
// with the same validation as pop() (the file is hostile).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "devices/virtio/queue/descriptor_chain.hpp"
#include "devices/virtio/queue/virt_queue.hpp"
#include "vmm/snapshot/state_reader.hpp"
#include "vmm/snapshot/state_writer.hpp"

namespace minivmm::virtio {

// `queue` is nullopt for a queue the driver did not enable. `held` in the order the device
// will use them.
void save_queue_state(snapshot::StateWriter& out, const std::optional<VirtQueue>& queue,
    std::span<const std::uint16_t> held);

// Restores the progress into `queue` (as activation built it from the restored addresses) and
// returns the held chains, re-walked. Throws SnapshotError naming `name` ("requestq") when the
// saved queue does not match (enabled or not, size), more than `max_held` chains are held, the
// count exceeds what the indices say was taken, or a held chain breaks a ring rule.
std::vector<DescriptorChain> restore_queue_state(snapshot::StateReader& in, std::optional<VirtQueue>& queue,
    std::string_view name, std::size_t max_held);

} // namespace minivmm::virtio
