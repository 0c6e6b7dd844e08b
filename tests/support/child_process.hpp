// ChildProcess: runs a program (the real minivmm, QEMU, ip) as a child with captured stdout and
// stderr, an optional stdin feed and a hard timeout, for integration tests.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace minivmm::testing {

struct ProcessResult {
    int exit_status = -1;   // exit code, or -1 when killed by a signal
    int signal = 0;         // the signal that killed it, or 0
    bool timed_out = false; // the harness killed it at the deadline
    std::string out;
    std::string err;
    std::chrono::milliseconds elapsed {0};
};

struct ProcessOptions {
    std::chrono::milliseconds timeout {60'000};
    std::string stdin_data;           // written to the child's stdin, then closed
    // Called with the stdout gathered so far after each read; returning true kills the child with
    // SIGKILL at once (e.g. once a marker appeared: the kill -9 durability test).
    std::function<bool(const std::string&)> kill_when;
};

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

} // namespace minivmm::testing
