// BusDevice: what a device exposes to a Bus: reads and writes at an offset into its range.
// Devices never see KVM; accesses arrive from vCPU threads, so a device guards its own state.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace minivmm {

class BusDevice {
public:
    virtual ~BusDevice() = default;
    [[nodiscard]] virtual std::string_view name() const = 0;
    // `offset` is relative to the base the device was registered at; the access lies wholly
    // inside the registered range (the Bus guarantees it).
    virtual void read(std::uint64_t offset, std::span<std::uint8_t> data) = 0;
    virtual void write(std::uint64_t offset, std::span<const std::uint8_t> data) = 0;
};

} // namespace minivmm
