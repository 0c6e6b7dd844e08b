// The two exception types of the VMM: SysError for a failing host call (errno + the call) and
// UserError for bad input the user can fix. Both are caught once, in cli::run_main, and printed
// as one line. Guest-caused failures are never exceptions (see STYLE.md, "Errors").
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>
#include <string_view>

namespace minivmm {

class SysError : public std::runtime_error {
public:
    // `what` names the failing call and its subject, e.g. "open /dev/kvm".
    explicit SysError(std::string_view what, int error = errno);
    [[nodiscard]] int error() const { return m_error; }

private:
    int m_error;
};

class UserError : public std::runtime_error {
public:
    explicit UserError(const std::string& message) : std::runtime_error(message) {}
};

} // namespace minivmm
