// What /proc says about a process's threads (proc(5)): their names and CPU time, for tests that
// measure the real VMM from outside (the limiter's shares, a paused VM's idle vCPU threads).
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>

namespace minivmm::testing {

// utime + stime of thread `tid` of `pid` in seconds (/proc/PID/task/TID/stat fields 14, 15).
std::optional<double> thread_cpu_seconds(pid_t pid, const std::string& tid);
// Puts `pid`'s autogroup and each of its threads at `nice` (as root), so what a test measures is
// the VMM's own limits, not the neighbours on a shared host; false when it was not allowed.
bool raise_process_priority(pid_t pid, int nice);
// name -> tid of every thread of `pid` whose name (/proc/PID/task/*/comm) starts with `prefix`.
std::map<std::string, std::string> threads_named(pid_t pid, const std::string& prefix);

} // namespace minivmm::testing
