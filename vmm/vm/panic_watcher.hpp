// PanicWatcher: notices a Linux guest's "Kernel panic - not syncing" on its serial console, so
// a panicking guest ends minivmm with the guest-crash status, never a clean 0. Why on the
// console: it needs no guest driver (pvpanic) and works for every kernel that prints to ttyS0;
// and with `panic=N reboot=k` the reset that follows a panic would otherwise look like a clean
// shutdown. The panic is reported when its closing "---[ end Kernel panic" line arrives, so the
// whole backtrace is printed first.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>

namespace minivmm::vm {

class PanicWatcher {
public:
    enum class Event {
        None,
        PanicStarted, // the "Kernel panic - not syncing" line
        PanicEnded,   // the "---[ end Kernel panic" line: the report is complete
    };

    // Feeds console bytes (any split); returns the most significant event they completed.
    Event feed(std::span<const std::uint8_t> bytes);
    // The panic line (without the prefix up to "Kernel panic"), once one was seen.
    [[nodiscard]] std::optional<std::string> panic_line() const;

private:
    Event end_of_line();

    mutable std::mutex m_mutex;
    std::string m_line;
    std::optional<std::string> m_panic;
};

} // namespace minivmm::vm
