// EscapeFilter: the Ctrl-A escape on the console's stdin, as a pure state machine: host bytes
// in, bytes for the guest and at most one action out (the convention of QEMU's -nographic
// mux and screen(1), reimplemented here).
//
//   Ctrl-A x       quit the VM
//   Ctrl-A Ctrl-A  send one Ctrl-A (0x01) to the guest
//   Ctrl-A h       show a one-line help on stderr
//   Ctrl-A other   the escape is dropped and `other` goes to the guest, so a stray Ctrl-A
//                  costs nothing but itself
//
// A sequence split across reads works: a trailing Ctrl-A is remembered until the next call.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace minivmm {

class EscapeFilter {
public:
    static constexpr std::uint8_t kEscape = 0x01; // Ctrl-A
    static constexpr std::string_view kHelp =
        "minivmm console: Ctrl-A x quit, Ctrl-A Ctrl-A send Ctrl-A, Ctrl-A h this help";

    // Ordered by precedence: when one input holds several commands the strongest is reported.
    enum class Action {
        None,
        ShowHelp,
        Quit, // bytes after the quit command are discarded
    };

    struct Result {
        std::vector<std::uint8_t> to_guest;
        Action action = Action::None;
    };

    Result filter(std::span<const std::uint8_t> input);
    // True when the last input ended in an unfinished escape.
    [[nodiscard]] bool pending_escape() const { return m_after_escape; }

private:
    bool m_after_escape = false;
};

} // namespace minivmm
