// EventFd: an eventfd(2) counter, used for ioeventfd/irqfd and to wake the event loop.
#pragma once

#include <cstdint>

#include "vmm/base/unique_fd.hpp"

namespace minivmm {

class EventFd {
public:
    // Throws SysError on failure. Non-blocking and close-on-exec.
    explicit EventFd(unsigned initial = 0);
    [[nodiscard]] int fd() const { return m_fd.get(); }
    // Adds `value` to the counter.
    void signal(std::uint64_t value = 1) const;
    // Reads and resets the counter; 0 when it was already zero.
    std::uint64_t consume() const;

private:
    UniqueFd m_fd;
};

} // namespace minivmm
