// UringIoEngine: virtio-blk transfers through io_uring: one io_uring_submit per notification
// batch, completions announced on an eventfd registered with the ring (the event loop watches
// it); in-flight requests keep their chain until their completion is reaped.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "devices/virtio/disk_image.hpp"
#include "devices/virtio/io_engine.hpp"
#include "vmm/base/event_fd.hpp"

namespace minivmm::virtio {

class UringIoEngine final : public IoEngine {
public:
    // Throws SysError when io_uring cannot be set up.
    UringIoEngine(const DiskImage& image, unsigned depth);
    ~UringIoEngine() override;
    UringIoEngine(const UringIoEngine&) = delete;
    UringIoEngine& operator=(const UringIoEngine&) = delete;

    void submit(BlkIo io) override;
    void commit() override;
    std::vector<BlkCompletion> reap() override;
    std::size_t in_flight() const override { return m_in_flight; }
    std::size_t capacity() const override { return m_slots.size(); }
    int event_fd() const override { return m_event.fd(); }
    void drain() override;

private:
    void collect(std::vector<BlkCompletion>& done, io_uring_cqe* cqe);

    const DiskImage& m_image;
    io_uring m_ring{};
    EventFd m_event;
    std::vector<std::optional<BlkIo>> m_slots; // user_data = slot index
    std::vector<std::size_t> m_free;
    std::size_t m_in_flight = 0;
};

} // namespace minivmm::virtio
