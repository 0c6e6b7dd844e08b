#include "vmm/vm/panic_watcher.hpp"

namespace minivmm::vm {

namespace {
// Linux kernel/panic.c, panic(): pr_emerg("Kernel panic - not syncing: %s\n", buf) and, last,
// pr_emerg("---[ end Kernel panic - not syncing: %s ]---\n", buf).
constexpr std::string_view kPanicStart = "Kernel panic - not syncing";
constexpr std::string_view kPanicEnd = "---[ end Kernel panic";
// A console line longer than this is cut: the markers are near the start of their lines.
constexpr std::size_t kMaxLine = 512;
} // namespace

PanicWatcher::Event PanicWatcher::feed(std::span<const std::uint8_t> bytes)
{
    std::lock_guard lock(m_mutex);
    Event result = Event::None;
    for (std::uint8_t byte : bytes) {
        if (byte == '\n') {
            const Event event = end_of_line();
            if (event > result)
                result = event;
            m_line.clear();
        } else if (byte != '\r' && m_line.size() < kMaxLine) {
            m_line.push_back(static_cast<char>(byte));
        }
    }
    return result;
}

PanicWatcher::Event PanicWatcher::end_of_line()
{
    // The end line repeats the start marker: it only ever ends a panic already seen.
    if (m_line.find(kPanicEnd) != std::string::npos)
        return m_panic ? Event::PanicEnded : Event::None;
    if (const auto at = m_line.find(kPanicStart); at != std::string::npos && !m_panic) {
        m_panic = m_line.substr(at);
        return Event::PanicStarted;
    }
    return Event::None;
}

std::optional<std::string> PanicWatcher::panic_line() const
{
    std::lock_guard lock(m_mutex);
    return m_panic;
}

} // namespace minivmm::vm
