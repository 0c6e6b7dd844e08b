// Async-signal-safe formatting of the seccomp violation line (violation_message.hpp).
#include "vmm/sandbox/violation_message.hpp"

namespace minivmm::sandbox {

namespace {
class LineWriter {
public:
    LineWriter(char* buffer, std::size_t size)
        : m_buffer(buffer)
        , m_size(size)
    {
    }
    void put(std::string_view text)
    {
        for (char c : text)
            if (m_used < m_size)
                m_buffer[m_used++] = c;
    }
    void put(long number)
    {
        char digits[24];
        std::size_t count = 0;
        // Negative numbers are printed via their magnitude as unsigned (no overflow for LONG_MIN).
        unsigned long magnitude = number < 0 ? 0ul - static_cast<unsigned long>(number) : static_cast<unsigned long>(number);
        do {
            digits[count++] = static_cast<char>('0' + magnitude % 10);
            magnitude /= 10;
        } while (magnitude != 0);
        if (number < 0)
            put("-");
        while (count > 0)
            put(std::string_view(&digits[--count], 1));
    }
    [[nodiscard]] std::size_t used() const { return m_used; }

private:
    char* m_buffer;
    std::size_t m_size;
    std::size_t m_used = 0;
};
} // namespace

std::size_t format_violation(char* buffer, std::size_t size, std::string_view kind, std::string_view name, long number)
{
    LineWriter line(buffer, size);
    line.put("minivmm: seccomp: thread ");
    line.put(kind);
    line.put(" made a forbidden system call ");
    line.put(name.empty() ? std::string_view("unknown") : name);
    line.put(" (");
    line.put(number);
    line.put(")\n");
    return line.used();
}

} // namespace minivmm::sandbox
