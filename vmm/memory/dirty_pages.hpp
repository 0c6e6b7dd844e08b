// Which 4 KiB guest pages changed over an interval: the common currency of diff snapshots
// (issue "Snapshot and restore", --diff-from) and live migration's pre-copy rounds (issue "Live
// migration"). A DirtyPageSource hands them out; the VM's source combines KVM's dirty log (pages
// the vCPUs wrote, KVM_GET_DIRTY_LOG, Documentation/virt/kvm/api.rst §4.8) with the pages the
// VMM's own devices wrote through GuestMemory. Consumers (the snapshot writer, the migration
// sender, tests with fakes) see only this header.
//
// INTERFACE PRE-COMMITTED by the coordinator so that the dirty-tracking work (vmm/memory,
// vmm/vm) and the migration work (vmm/migration) can proceed side by side; the implementation
// lands with the dirty-tracking work.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace minivmm {

inline constexpr std::uint64_t kDirtyPageSize = 4096;

// One bit per 4 KiB page of one RAM region (bit i = the page at region start + i * 4 KiB).
class DirtyPageBitmap {
public:
    DirtyPageBitmap() = default;
    explicit DirtyPageBitmap(std::uint64_t pages);

    [[nodiscard]] std::uint64_t pages() const { return m_pages; }
    void set(std::uint64_t page);            // page < pages()
    [[nodiscard]] bool test(std::uint64_t page) const;
    void set_all();
    void clear();
    [[nodiscard]] std::uint64_t count() const; // set bits
    // Or-s `other` (same pages()) into this one.
    void merge(const DirtyPageBitmap& other);
    // The bitmap as 64-bit words, KVM_GET_DIRTY_LOG's layout (bit i of word w = page w*64 + i);
    // bits past pages() are zero.
    [[nodiscard]] std::span<std::uint64_t> words() { return m_words; }
    [[nodiscard]] std::span<const std::uint64_t> words() const { return m_words; }

private:
    std::uint64_t m_pages = 0;
    std::vector<std::uint64_t> m_words;
};

// The dirty pages of a whole guest: one bitmap per GuestMemory region, in regions() order.
struct DirtyPages {
    std::vector<DirtyPageBitmap> regions;
    [[nodiscard]] std::uint64_t count() const;
};

// Where dirty pages come from. start() begins tracking (everything written from then on is
// reported); collect() returns the pages written since start() or the previous collect() and
// resets the record; stop() ends tracking. Implementations document which thread may call them.
class DirtyPageSource {
public:
    virtual ~DirtyPageSource() = default;
    virtual void start() = 0;
    [[nodiscard]] virtual DirtyPages collect() = 0;
    virtual void stop() = 0;
};

} // namespace minivmm
