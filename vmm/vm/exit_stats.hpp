// ExitStats: per-vCPU counts and handling times of VM exits, by exit kind and by device, for
// --trace's summary table. Each vCPU thread owns one (no sharing while running); they are
// merged after the vCPUs stop.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace minivmm::vm {

class ExitStats {
public:
    struct Entry {
        std::uint64_t count = 0;
        std::chrono::nanoseconds total{0};
    };

    void record(std::string_view reason, std::string_view device, std::chrono::nanoseconds elapsed);
    void merge(const ExitStats& other);
    [[nodiscard]] std::uint64_t total_exits() const;
    // The table printed at exit: one row per reason, then one per device.
    [[nodiscard]] std::string format_summary() const;

private:
    std::map<std::string, Entry, std::less<>> m_by_reason;
    std::map<std::string, Entry, std::less<>> m_by_device;
};

} // namespace minivmm::vm
