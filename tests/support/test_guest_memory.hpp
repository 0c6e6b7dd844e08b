// make_test_memory: guest RAM for device unit tests: anonymous mappings at chosen guest
// addresses, no KVM.
#pragma once

#include <cstdint>
#include <vector>

#include "vmm/base/mmap.hpp"
#include "vmm/memory/guest_memory.hpp"

namespace minivmm::testing {

// One region of `size` bytes at guest address `base`; pages are committed only when touched,
// so multi-GiB test RAM is cheap.
inline GuestMemory make_test_memory(std::uint64_t size, std::uint64_t base = 0)
{
    std::vector<GuestMemory::Region> regions;
    regions.push_back({base, Mapping::map(size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)});
    return GuestMemory(std::move(regions));
}

} // namespace minivmm::testing
