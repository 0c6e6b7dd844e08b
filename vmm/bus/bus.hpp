// Bus: maps address ranges (port I/O or MMIO) to devices. Ranges are registered before any
// vCPU runs and never change afterwards, so lookups need no lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vmm/bus/bus_device.hpp"

namespace minivmm {

class Bus {
public:
    enum class Outcome {
        Handled,   // dispatched to a device
        Unclaimed, // no device there: reads return all-ones, writes are dropped
        Crossing,  // starts inside a device but runs past its end: rejected like Unclaimed
    };
    struct Result {
        Outcome outcome;
        BusDevice* device; // the device the access started in, if any (for --trace)
    };

    explicit Bus(std::string name) : m_name(std::move(name)) {}

    // Throws std::invalid_argument when [base, base + length) is empty, wraps, or overlaps a
    // range already registered.
    void add(std::uint64_t base, std::uint64_t length, std::shared_ptr<BusDevice> device);

    Result read(std::uint64_t address, std::span<std::uint8_t> data);
    Result write(std::uint64_t address, std::span<const std::uint8_t> data);

    [[nodiscard]] const std::string& name() const { return m_name; }
    [[nodiscard]] std::uint64_t unclaimed_accesses() const { return m_unclaimed.load(std::memory_order_relaxed); }

private:
    struct Range {
        std::uint64_t base;
        std::uint64_t length;
        std::shared_ptr<BusDevice> device;
    };
    // The range containing `address`, or nullptr.
    const Range* find(std::uint64_t address) const;
    // Looks up the range and checks the access fits; counts misses.
    const Range* resolve(std::uint64_t address, std::size_t size, Result& result);

    std::string m_name;
    std::vector<Range> m_ranges; // sorted by base, disjoint
    std::atomic<std::uint64_t> m_unclaimed{0};
};

} // namespace minivmm
