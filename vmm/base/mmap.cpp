#include "vmm/base/mmap.hpp"

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"

namespace minivmm {

Mapping Mapping::map(std::size_t length, int prot, int flags, int fd, off_t offset)
{
    void* address = ::mmap(nullptr, length, prot, flags, fd, offset);
    if (address == MAP_FAILED)
        throw SysError(fmt::format("mmap of {} bytes", length));
    return Mapping(address, length);
}

void Mapping::reset()
{
    if (m_address)
        ::munmap(m_address, m_length);
    m_address = nullptr;
    m_length = 0;
}

} // namespace minivmm
