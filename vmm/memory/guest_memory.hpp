// GuestMemory: the guest's RAM as host mappings, one per KVM memory slot, and the only way the
// VMM and its devices touch guest memory. Every accessor checks the whole [address,
// address + length) with overflow-safe arithmetic; the guest is hostile by assumption.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

#include "vmm/base/mmap.hpp"
#include "vmm/memory/memory_layout.hpp"

namespace minivmm {

class GuestMemory {
public:
    struct Region {
        std::uint64_t guest_address;
        Mapping mapping;
        [[nodiscard]] std::uint64_t size() const { return mapping.size(); }
        [[nodiscard]] std::uint64_t end() const { return guest_address + mapping.size(); }
    };

    GuestMemory() = default;
    enum class Backing {
        Anonymous, // ordinary pages, populated on first touch
        HugePages, // hugetlbfs 2 MiB pages (MAP_HUGETLB): fewer TLB and EPT entries
    };
    // Maps memory for each range: lazily populated ordinary pages, or huge pages reserved at
    // mapping time. Throws SysError when the mapping fails, e.g. when the huge-page pool cannot
    // hold every range (Backing::HugePages never fails later, at the guest's first touch).
    static GuestMemory create(std::span<const layout::RamRange> ranges, Backing backing = Backing::Anonymous);
    // Adopts mappings made elsewhere (hugepages, tests); ranges must not overlap.
    explicit GuestMemory(std::vector<Region> regions);

    GuestMemory(GuestMemory&&) noexcept = default;
    GuestMemory& operator=(GuestMemory&&) noexcept = default;

    [[nodiscard]] const std::vector<Region>& regions() const { return m_regions; }
    [[nodiscard]] std::uint64_t total_size() const;

    // The host bytes backing [address, address + length), when that whole range lies inside
    // one region; std::nullopt otherwise (including on arithmetic overflow). A zero-length
    // range is valid anywhere inside or at the end of a region. Do not keep the span past the
    // access it was made for.
    [[nodiscard]] std::optional<std::span<std::uint8_t>> slice(std::uint64_t address, std::uint64_t length) const;
    [[nodiscard]] bool contains(std::uint64_t address, std::uint64_t length) const { return slice(address, length).has_value(); }

    // Copy in or out; false (nothing copied) when any byte of the range is not RAM.
    [[nodiscard]] bool read(std::uint64_t address, std::span<std::uint8_t> out) const;
    [[nodiscard]] bool write(std::uint64_t address, std::span<const std::uint8_t> in) const;

    template<typename T>
    [[nodiscard]] std::optional<T> read_obj(std::uint64_t address) const
    {
        static_assert(std::is_trivially_copyable_v<T>);
        T value;
        if (!read(address, {reinterpret_cast<std::uint8_t*>(&value), sizeof value}))
            return std::nullopt;
        return value;
    }
    template<typename T>
    [[nodiscard]] bool write_obj(std::uint64_t address, const T& value) const
    {
        static_assert(std::is_trivially_copyable_v<T>);
        return write(address, {reinterpret_cast<const std::uint8_t*>(&value), sizeof value});
    }

private:
    std::vector<Region> m_regions;
};

} // namespace minivmm
