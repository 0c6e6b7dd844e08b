// ChildProcess: runs a program (the real minivmm, QEMU, ip) as a child with captured stdout and
// stderr, an optional stdin feed and a hard timeout, for integration tests.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
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
    // With ProcessOptions::stdout_unread: the bytes left in the never-read pipe, and whether it
    // was ever full (it stopped polling writable: the child's writes had to wait).
    std::size_t unread_stdout_bytes = 0;
    bool stdout_filled = false;
};

struct ProcessOptions {
    std::chrono::milliseconds timeout {60'000};
    std::string stdin_data;           // written to the child's stdin, then closed
    // Called with the stdout gathered so far after each read; returning true kills the child with
    // SIGKILL at once (e.g. once a marker appeared: the kill -9 durability test).
    std::function<bool(const std::string&)> kill_when;
    // A reader that stopped reading: stdout is a pipe of one page (F_SETPIPE_SZ) that the harness
    // never reads, so the child's output has to wait almost at once.
    bool stdout_unread = false;
    // With stdout_unread: the signal to send the child once that pipe is full (0: none).
    int signal_when_stdout_full = 0;
};

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

} // namespace minivmm::testing
