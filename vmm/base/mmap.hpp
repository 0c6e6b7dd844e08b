// Mapping: sole owner of one mmap()ed region, unmapped by its owner (RAII, move-only).
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <utility>

namespace minivmm {

class Mapping {
public:
    Mapping() = default;
    // Maps `length` bytes; throws SysError on failure.
    static Mapping map(std::size_t length, int prot, int flags, int fd = -1, off_t offset = 0);
    static Mapping anonymous(std::size_t length) { return map(length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS); }
    ~Mapping() { reset(); }

    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    Mapping(Mapping&& other) noexcept
        : m_address(std::exchange(other.m_address, nullptr))
        , m_length(std::exchange(other.m_length, 0))
    {
    }
    Mapping& operator=(Mapping&& other) noexcept
    {
        if (this != &other) {
            reset();
            m_address = std::exchange(other.m_address, nullptr);
            m_length = std::exchange(other.m_length, 0);
        }
        return *this;
    }

    [[nodiscard]] std::uint8_t* data() const { return static_cast<std::uint8_t*>(m_address); }
    [[nodiscard]] std::size_t size() const { return m_length; }
    void reset();

private:
    Mapping(void* address, std::size_t length) : m_address(address), m_length(length) {}
    void* m_address = nullptr;
    std::size_t m_length = 0;
};

} // namespace minivmm
