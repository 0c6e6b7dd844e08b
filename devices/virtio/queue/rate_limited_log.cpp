#include "devices/virtio/queue/rate_limited_log.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace minivmm::virtio {

void RateLimitedLog::log(std::string_view message)
{
    std::lock_guard lock(m_mutex);
    const auto now = std::chrono::steady_clock::now();
    if (now - m_window_start >= m_interval) {
        if (m_suppressed > 0)
            fmt::print(stderr, "{}: {} similar messages suppressed\n", m_prefix, m_suppressed);
        m_window_start = now;
        m_in_window = 0;
        m_suppressed = 0;
    }
    if (m_in_window >= m_burst) {
        ++m_suppressed;
        ++m_suppressed_total;
        return;
    }
    ++m_in_window;
    fmt::print(stderr, "{}: {}\n", m_prefix, message);
}

} // namespace minivmm::virtio
