// EscapeFilter: the Ctrl-A command state machine.
#include "vmm/console/escape_filter.hpp"

#include <algorithm>

namespace minivmm {

EscapeFilter::Result EscapeFilter::filter(std::span<const std::uint8_t> input)
{
    Result result;
    result.to_guest.reserve(input.size());
    for (const std::uint8_t byte : input) {
        if (!m_after_escape) {
            if (byte == kEscape)
                m_after_escape = true;
            else
                result.to_guest.push_back(byte);
            continue;
        }
        m_after_escape = false;
        switch (byte) {
        case 'x':
        case 'X':
            result.action = Action::Quit;
            return result;
        case 'h':
        case 'H':
        case '?':
            result.action = std::max(result.action, Action::ShowHelp);
            break;
        default:
            // Ctrl-A Ctrl-A sends one Ctrl-A; anything else drops the escape and passes on.
            result.to_guest.push_back(byte);
            break;
        }
    }
    return result;
}

} // namespace minivmm
