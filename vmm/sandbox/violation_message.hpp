// The one line a seccomp violation prints, formatted without allocating or locking so the SIGSYS
// handler can use it (POSIX.1-2017 XSH §2.4.3 "Signal Actions": only async-signal-safe calls).
#pragma once

#include <cstddef>
#include <string_view>

namespace minivmm::sandbox {

// Writes "minivmm: seccomp: thread <kind> made a forbidden system call <name> (<nr>)\n" into
// `buffer` (truncated to `size`, never overflowing) and returns the number of bytes written.
// An empty `name` (a number the name table does not know) prints "unknown".
std::size_t format_violation(char* buffer, std::size_t size, std::string_view kind, std::string_view name, long number);

} // namespace minivmm::sandbox
