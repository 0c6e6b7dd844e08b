// DIR/memory (memory_file.hpp): written sparse, mapped copy-on-write.
#include "vmm/memory/memory_file.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "vmm/base/exact_io.hpp"
#include "vmm/base/sys_error.hpp"

namespace minivmm {

namespace {
bool all_zero(const std::uint8_t* page)
{
    // Word-wise: the scan of a mostly empty 2 GiB guest is memory bandwidth, not a byte loop.
    const auto* words = reinterpret_cast<const std::uint64_t*>(page);
    std::uint64_t any = 0;
    for (std::size_t i = 0; i < kMemoryFilePageSize / sizeof(std::uint64_t); i += 8)
        any |= words[i] | words[i + 1] | words[i + 2] | words[i + 3] | words[i + 4] | words[i + 5] | words[i + 6]
            | words[i + 7];
    return any == 0;
}

// Data runs are written in pieces of at most this much (one pwritev each).
constexpr std::uint64_t kMaxRun = 8ull << 20;
} // namespace

MemoryFileStats write_memory_file(int fd, const GuestMemory& memory, const std::string& name)
{
    MemoryFileStats stats;
    stats.total_bytes = memory.total_size();
    // The length first: every page never written below stays a hole that reads as zeros.
    if (::ftruncate(fd, static_cast<off_t>(stats.total_bytes)) != 0)
        throw SysError(fmt::format("{}: ftruncate to {} bytes", name, stats.total_bytes));
    std::uint64_t file_offset = 0;
    for (const auto& region : memory.regions()) {
        const std::uint8_t* base = region.mapping.data();
        const std::uint64_t size = region.size();
        std::uint64_t page = 0;
        while (page < size) {
            if (all_zero(base + page)) {
                page += kMemoryFilePageSize;
                continue;
            }
            std::uint64_t end = page + kMemoryFilePageSize;
            while (end < size && end - page < kMaxRun && !all_zero(base + end))
                end += kMemoryFilePageSize;
            if (const int error = pwrite_exact(fd, base + page, end - page, file_offset + page); error != 0)
                throw SysError(fmt::format("{}: write of {} bytes at {:#x}", name, end - page, file_offset + page), -error);
            stats.data_bytes += end - page;
            page = end;
        }
        file_offset += size;
    }
    if (::fdatasync(fd) != 0)
        throw SysError(fmt::format("{}: fdatasync", name));
    return stats;
}

GuestMemory map_memory_file(int fd, std::span<const layout::RamRange> ranges, const std::string& name)
{
    std::uint64_t total = 0;
    for (const auto& range : ranges)
        total += range.size;
    struct stat status {};
    if (::fstat(fd, &status) != 0)
        throw SysError(fmt::format("{}: fstat", name));
    if (!S_ISREG(status.st_mode))
        throw UserError(fmt::format("{} is not a regular file", name));
    if (static_cast<std::uint64_t>(status.st_size) != total)
        throw UserError(fmt::format("{} is {} bytes, the snapshot's RAM layout needs {} bytes", name, status.st_size, total));
    std::vector<GuestMemory::Region> regions;
    std::uint64_t offset = 0;
    for (const auto& range : ranges) {
        // MAP_PRIVATE: the guest's writes go to its own anonymous copies of the pages, never to
        // the file (mmap(2)); MAP_NORESERVE as for anonymous guest RAM (guest_memory.cpp).
        regions.push_back({range.guest_address,
            Mapping::map(range.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, static_cast<off_t>(offset))});
        offset += range.size;
    }
    return GuestMemory(std::move(regions));
}

} // namespace minivmm
