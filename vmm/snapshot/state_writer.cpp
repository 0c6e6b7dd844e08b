// StateWriter (state_writer.hpp): the length-prefixed parts.
#include "vmm/snapshot/state_writer.hpp"

#include <stdexcept>

namespace minivmm::snapshot {

void StateWriter::bytes(std::span<const std::uint8_t> data)
{
    if (data.size() > UINT32_MAX)
        throw std::length_error("snapshot: a byte string over 4 GiB");
    u32(static_cast<std::uint32_t>(data.size()));
    fixed(data);
}

void StateWriter::string(std::string_view text)
{
    bytes(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

} // namespace minivmm::snapshot
