// The kernel's C layout of KVM's variable-length ioctl arguments (kvm_cpuid2, kvm_msrs), and
// the ioctl numbers that encode it. Why not <linux/kvm.h>'s own: since Linux 6.1 the uapi
// declares their arrays with __DECLARE_FLEX_ARRAY, which puts an empty struct before the array.
// In C that struct has size 0; in C++ it has size 1, so g++ computes sizeof(kvm_cpuid2) = 12
// (not 8) and shifts `entries` by 4 bytes: the ioctl numbers (which encode the size) are
// refused with EINVAL and the entries would be misread. We use only the fixed header here and
// place the entries right after it, exactly as the kernel does.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace minivmm::kvm {

struct FlexArrayHeader { // kvm_cpuid2 {nent, padding} and kvm_msrs {nmsrs, pad}
    std::uint32_t count;
    std::uint32_t padding;
};
static_assert(sizeof(FlexArrayHeader) == 8);

inline constexpr unsigned long kIoctlGetSupportedCpuid = _IOWR(KVMIO, 0x05, FlexArrayHeader);
inline constexpr unsigned long kIoctlSetCpuid2 = _IOW(KVMIO, 0x90, FlexArrayHeader);
inline constexpr unsigned long kIoctlGetMsrs = _IOWR(KVMIO, 0x88, FlexArrayHeader);
inline constexpr unsigned long kIoctlSetMsrs = _IOW(KVMIO, 0x89, FlexArrayHeader);
inline constexpr unsigned long kIoctlGetCpuid2 = _IOWR(KVMIO, 0x91, FlexArrayHeader);
// kvm_msr_list {nmsrs; indices[]}: a 4-byte header, so its ioctl number differs from the others.
inline constexpr unsigned long kIoctlGetMsrIndexList = _IOWR(KVMIO, 0x02, std::uint32_t);

// A byte buffer holding the header followed by `capacity` entries of type Entry.
template<typename Entry>
class FlexArrayBuffer {
public:
    explicit FlexArrayBuffer(std::size_t capacity) : m_bytes(sizeof(FlexArrayHeader) + capacity * sizeof(Entry), 0)
    {
        set_count(static_cast<std::uint32_t>(capacity));
    }
    explicit FlexArrayBuffer(std::span<const Entry> entries) : FlexArrayBuffer(entries.size())
    {
        if (!entries.empty())
            std::memcpy(m_bytes.data() + sizeof(FlexArrayHeader), entries.data(), entries.size_bytes());
    }
    [[nodiscard]] void* data() { return m_bytes.data(); }
    [[nodiscard]] std::uint32_t count() const
    {
        FlexArrayHeader header;
        std::memcpy(&header, m_bytes.data(), sizeof header);
        return header.count;
    }
    void set_count(std::uint32_t count)
    {
        FlexArrayHeader header {count, 0};
        std::memcpy(m_bytes.data(), &header, sizeof header);
    }
    // The first count() entries (bounded by the buffer's capacity).
    [[nodiscard]] std::vector<Entry> entries() const
    {
        const std::size_t capacity = (m_bytes.size() - sizeof(FlexArrayHeader)) / sizeof(Entry);
        std::vector<Entry> out(std::min<std::size_t>(count(), capacity));
        if (!out.empty())
            std::memcpy(out.data(), m_bytes.data() + sizeof(FlexArrayHeader), out.size() * sizeof(Entry));
        return out;
    }

private:
    std::vector<std::uint8_t> m_bytes;
};

} // namespace minivmm::kvm
