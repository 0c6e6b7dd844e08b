// FakeNetBackend: a NetBackend for virtio-net unit tests (virtio-v1.2 §5.1.6 "Device
// Operation"): frames "from the host" are queued by the test, frames the device writes are
// recorded whole (header first), and every TUNSETOFFLOAD-style call is kept.
#pragma once

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <span>
#include <vector>

#include "devices/virtio/net/net_backend.hpp"
#include "vmm/base/event_fd.hpp"

namespace minivmm::testing {

class FakeNetBackend final : public virtio::NetBackend {
public:
    std::int64_t read_frame(std::span<std::uint8_t> buffer) override
    {
        ++reads;
        if (read_errno != 0)
            return -read_errno;
        if (incoming.empty())
            return 0;
        std::vector<std::uint8_t> frame = std::move(incoming.front());
        incoming.pop_front();
        // Like a tap: a frame longer than the buffer is truncated to it, the rest discarded.
        const std::size_t length = std::min(frame.size(), buffer.size());
        std::memcpy(buffer.data(), frame.data(), length);
        return static_cast<std::int64_t>(length);
    }
    std::int64_t write_frame(std::span<const iovec> parts) override
    {
        if (write_errno != 0)
            return -write_errno;
        std::vector<std::uint8_t> frame;
        for (const auto& part : parts) {
            const auto* bytes = static_cast<const std::uint8_t*>(part.iov_base);
            frame.insert(frame.end(), bytes, bytes + part.iov_len);
        }
        written.push_back(frame);
        return static_cast<std::int64_t>(frame.size());
    }
    [[nodiscard]] int fd() const override { return m_readable.fd(); }
    int set_offloads(unsigned tun_flags) override
    {
        offloads.push_back(tun_flags);
        return 0;
    }

    std::deque<std::vector<std::uint8_t>> incoming; // header + frame, oldest first
    std::vector<std::vector<std::uint8_t>> written;  // header + frame, in write order
    std::vector<unsigned> offloads;                  // every set_offloads() argument
    int reads = 0;                                   // read_frame() calls
    int read_errno = 0;                              // nonzero: read_frame fails with it
    int write_errno = 0;                             // nonzero: write_frame fails with it

private:
    EventFd m_readable; // stands in for the tap fd; tests call handle_event() themselves
};

} // namespace minivmm::testing
