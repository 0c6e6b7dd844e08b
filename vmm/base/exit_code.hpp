// The exit codes of `minivmm run`, documented in README.md ("Exit codes"). A guest that writes
// a byte to the exit port makes that byte the status, so the VMM's own codes sit above 0xff's
// commonly used small values but stay within 8 bits; a guest can still write any byte.
#pragma once

namespace minivmm {

enum class ExitCode : int {
    CleanShutdown = 0,     // the guest reset through the i8042 or powered off
    Usage = 2,             // bad command line (unknown option, malformed value)
    VmmError = 120,        // bad input file, host failure, missing /dev/kvm
    GuestCrash = 121,      // triple fault, KVM internal error, unhandled exit, guest panic
    SeccompViolation = 122, // a VMM thread made a system call outside its seccomp allow-list
    ApiStop = 123,         // stopped through the control API ("stop"), disks flushed
    ShutdownTimeout = 125, // the API's "shutdown" timed out and the VM was stopped
    Timeout = 124,         // --timeout expired (the same code as timeout(1))
    Interrupted = 130,     // the user quit (Ctrl-A x) or a signal ended the VM
};

constexpr int to_int(ExitCode code) { return static_cast<int>(code); }

} // namespace minivmm
