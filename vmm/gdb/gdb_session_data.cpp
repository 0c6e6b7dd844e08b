// The gdb stub's register, memory and breakpoint packets (gdb_session.hpp; "Debugging with GDB"
// appendix E.3 "Packets": `g`, `G`, `p`, `P`, `m`, `M`, `X`, `Z`, `z`).
#include "vmm/gdb/gdb_session.hpp"

#include <algorithm>
#include <cstring>

#include "vmm/gdb/packet_fields.hpp"
#include "vmm/gdb/rsp_packet.hpp"
#include "vmm/gdb/x86_register_layout.hpp"

namespace minivmm::gdb {

using namespace fields;

std::string GdbSession::read_registers()
{
    auto registers = m_target.read_registers(m_general_vcpu);
    if (!registers)
        return std::string(kHostError);
    std::string reply;
    for (unsigned n = 0; n < register_layout(m_mode).size(); ++n)
        reply += to_hex(*register_storage(*registers, m_mode, n));
    return reply;
}

std::string GdbSession::write_registers(std::string_view hex)
{
    auto current = m_target.read_registers(m_general_vcpu);
    if (!current)
        return std::string(kHostError);
    const auto bytes = from_hex(hex);
    if (!bytes)
        return std::string(kSyntaxError);
    X86Registers updated = *current;
    std::size_t offset = 0;
    for (unsigned n = 0; n < register_layout(m_mode).size(); ++n) {
        auto storage = *register_storage(updated, m_mode, n);
        // E.3 `G`: the same layout as `g`; a shorter packet leaves the remaining registers alone.
        if (offset + storage.size() > bytes->size())
            break;
        const bool changed = std::memcmp(storage.data(), bytes->data() + offset, storage.size()) != 0;
        if (changed && !register_is_writable(m_mode, n))
            return std::string(kSyntaxError);
        std::memcpy(storage.data(), bytes->data() + offset, storage.size());
        offset += storage.size();
    }
    if (offset != bytes->size())
        return std::string(kSyntaxError);
    return m_target.write_registers(m_general_vcpu, updated) ? "OK" : std::string(kHostError);
}

std::string GdbSession::read_register(std::string_view args)
{
    const auto number = parse_hex(args);
    if (!number || *number >= register_layout(m_mode).size())
        return std::string(kSyntaxError);
    auto registers = m_target.read_registers(m_general_vcpu);
    if (!registers)
        return std::string(kHostError);
    return to_hex(*register_storage(*registers, m_mode, static_cast<unsigned>(*number)));
}

std::string GdbSession::write_register(std::string_view args)
{
    const auto parts = split(args, '=');
    if (!parts)
        return std::string(kSyntaxError);
    const auto number = parse_hex(parts->first);
    const auto bytes = from_hex(parts->second);
    if (!number || !bytes || *number >= register_layout(m_mode).size())
        return std::string(kSyntaxError);
    auto registers = m_target.read_registers(m_general_vcpu);
    if (!registers)
        return std::string(kHostError);
    auto storage = *register_storage(*registers, m_mode, static_cast<unsigned>(*number));
    if (bytes->size() != storage.size())
        return std::string(kSyntaxError);
    if (std::memcmp(storage.data(), bytes->data(), storage.size()) == 0)
        return "OK";
    if (!register_is_writable(m_mode, static_cast<unsigned>(*number)))
        return std::string(kSyntaxError);
    std::memcpy(storage.data(), bytes->data(), storage.size());
    return m_target.write_registers(m_general_vcpu, *registers) ? "OK" : std::string(kHostError);
}

std::string GdbSession::read_memory(std::string_view args)
{
    const auto range = address_length(args);
    if (!range)
        return std::string(kSyntaxError);
    // E.3 `m`: "The reply may contain fewer addressable memory units than requested".
    std::vector<std::uint8_t> buffer(std::min(range->second, kMaxMemoryReply));
    if (buffer.empty())
        return {};
    const std::size_t got = m_target.read_memory(m_general_vcpu, range->first, buffer);
    if (got == 0)
        return std::string(kMemoryError);
    return to_hex(std::span(buffer).first(got));
}

std::string GdbSession::write_memory(std::string_view args, bool binary)
{
    const auto parts = split(args, ':');
    if (!parts)
        return std::string(kSyntaxError);
    const auto range = address_length(parts->first);
    if (!range)
        return std::string(kSyntaxError);
    std::vector<std::uint8_t> data;
    if (binary) {
        const auto raw = unescape_binary(parts->second);
        if (!raw)
            return std::string(kSyntaxError);
        data.assign(raw->begin(), raw->end());
    } else {
        auto decoded = from_hex(parts->second);
        if (!decoded)
            return std::string(kSyntaxError);
        data = std::move(*decoded);
    }
    if (data.size() != range->second)
        return std::string(kSyntaxError);
    if (data.empty())
        return "OK"; // E.3 `X`: gdb probes for the packet with a zero length
    const std::size_t written = m_target.write_memory(m_general_vcpu, range->first, data);
    return written == data.size() ? "OK" : std::string(kMemoryError);
}

std::string GdbSession::breakpoint(std::string_view args, bool insert)
{
    // E.3 `Z type,addr,kind` (`kind` for type 0/1 is the breakpoint's size in bytes, for 2-4 the
    // watched length); conditions and commands after a ';' are not supported.
    const auto type_rest = split(args, ',');
    if (!type_rest || type_rest->first.size() != 1 || type_rest->first[0] < '0' || type_rest->first[0] > '4')
        return std::string(kSyntaxError);
    if (type_rest->second.find(';') != std::string_view::npos)
        return {};
    const auto range = address_length(type_rest->second);
    if (!range)
        return std::string(kSyntaxError);
    const auto type = static_cast<BreakpointType>(type_rest->first[0] - '0');
    const InsertResult result = insert ? m_target.insert_breakpoint(type, range->first, range->second)
                                       : m_target.remove_breakpoint(type, range->first, range->second);
    switch (result) {
    case InsertResult::Ok:
        return "OK";
    case InsertResult::Error:
        return std::string(kMemoryError);
    case InsertResult::Unsupported:
        return {};
    }
    return {};
}

} // namespace minivmm::gdb
