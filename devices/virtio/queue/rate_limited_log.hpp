// RateLimitedLog: stderr lines about guest misbehaviour, at most a burst per interval, so a
// hostile guest cannot flood the host's log (STYLE.md, "Errors": log with a rate limit).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace minivmm::virtio {

class RateLimitedLog {
public:
    explicit RateLimitedLog(std::string prefix, unsigned burst = 10,
        std::chrono::steady_clock::duration interval = std::chrono::seconds(5))
        : m_prefix(std::move(prefix)), m_burst(burst), m_interval(interval)
    {
    }
    // Writes "<prefix>: <message>" to stderr unless the burst for this interval is spent.
    void log(std::string_view message);
    [[nodiscard]] std::uint64_t suppressed() const { return m_suppressed_total; }

private:
    std::string m_prefix;
    unsigned m_burst;
    std::chrono::steady_clock::duration m_interval;
    std::mutex m_mutex;
    std::chrono::steady_clock::time_point m_window_start{};
    unsigned m_in_window = 0;
    std::uint64_t m_suppressed = 0;       // in the current window, reported when it ends
    std::uint64_t m_suppressed_total = 0;
};

} // namespace minivmm::virtio
