// StateWriter: how a device (or the VM itself) writes its own state into a snapshot section
// (DESIGN.md, "The control plane": devices own their state). Little-endian, no padding, no
// pointers: a section's bytes mean the same on every host of the same format version
// (vmstate_format.hpp). The matching reader is state_reader.hpp; read in the order written.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace minivmm::snapshot {

class StateWriter {
public:
    void u8(std::uint8_t value) { m_bytes.push_back(value); }
    void u16(std::uint16_t value) { little_endian(value, 2); }
    void u32(std::uint32_t value) { little_endian(value, 4); }
    void u64(std::uint64_t value) { little_endian(value, 8); }
    void boolean(bool value) { u8(value ? 1 : 0); }
    // A u32 length, then the bytes (StateReader::bytes checks the length against a bound).
    void bytes(std::span<const std::uint8_t> data);
    void string(std::string_view text);
    // Exactly data.size() bytes, no length: for structures of fixed size (a kernel ABI struct
    // such as kvm_regs, whose layout <linux/kvm.h> fixes for x86-64).
    void fixed(std::span<const std::uint8_t> data) { m_bytes.insert(m_bytes.end(), data.begin(), data.end()); }
    template<typename T>
    void object(const T& value)
    {
        static_assert(std::is_trivially_copyable_v<T>);
        fixed(std::span(reinterpret_cast<const std::uint8_t*>(&value), sizeof value));
    }

    [[nodiscard]] const std::vector<std::uint8_t>& data() const { return m_bytes; }
    [[nodiscard]] std::vector<std::uint8_t> take() { return std::move(m_bytes); }

private:
    void little_endian(std::uint64_t value, unsigned size)
    {
        for (unsigned i = 0; i < size; ++i)
            m_bytes.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
    }
    std::vector<std::uint8_t> m_bytes;
};

} // namespace minivmm::snapshot
