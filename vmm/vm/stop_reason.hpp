// VmStopper: how any thread (a vCPU, the event loop, a signal) ends the VM. The first reason
// recorded wins; later ones are ignored, so "the guest wrote its status, then the vCPU saw the
// resulting halt" reports the status.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

namespace minivmm::vm {

enum class StopKind {
    ExitPort,      // the guest wrote its status to the exit port
    GuestReset,    // i8042 reset / KVM system event: a clean shutdown
    GuestCrash,    // triple fault, internal error, unhandled exit
    Timeout,       // --timeout expired
    UserQuit,      // Ctrl-A x
    Signal,        // SIGTERM/SIGINT/SIGHUP
    VmmError,      // a host failure inside a vCPU or device thread
    ApiStop,       // the control API's "stop" action
    ShutdownTimeout, // the API's "shutdown": the guest did not end within its timeout
};

struct StopReason {
    StopKind kind;
    std::uint8_t status = 0; // for ExitPort
    std::string detail;      // one line for the user (crash reason, signal name, error)
};

class VmStopper {
public:
    // Records `reason` if it is the first, then calls the kick function (which makes every vCPU
    // leave KVM_RUN and stops the event loop). Safe from any thread; not from a signal handler.
    void stop(StopReason reason);
    [[nodiscard]] bool stopping() const;
    [[nodiscard]] std::optional<StopReason> reason() const;
    void set_kick(std::function<void()> kick) { m_kick = std::move(kick); }

private:
    mutable std::mutex m_mutex;
    std::optional<StopReason> m_reason;
    std::function<void()> m_kick;
};

} // namespace minivmm::vm
