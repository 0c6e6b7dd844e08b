// EventLoop: one epoll set and the callbacks behind its fds. The VMM runs one loop thread for
// stdin, TAP fds, disk completions, timers and queue-notify ioeventfds (DESIGN.md, "Threads
// and events"). Callbacks run on the loop thread; add/remove are safe from any thread.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "vmm/base/event_fd.hpp"
#include "vmm/base/unique_fd.hpp"

namespace minivmm {

class EventLoop {
public:
    // Receives the epoll event mask (EPOLLIN, EPOLLHUP, ...).
    using Callback = std::function<void(std::uint32_t events)>;

    EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // Watches `fd` (not owned) for `events`; throws SysError. An fd is added at most once.
    void add(int fd, std::uint32_t events, Callback callback);
    // Changes the events watched for `fd` (e.g. stop polling a TAP while the guest has no buffers).
    // From a thread other than the one running the loop (a vCPU thread handling a guest's MMIO
    // write), the change is handed to the loop thread, which applies it before it waits again:
    // vCPU threads may not call epoll_ctl (vmm/sandbox/allow_lists.cpp).
    void modify(int fd, std::uint32_t events);
    // Stops watching `fd`; its callback is not called again once this returns on the loop thread.
    void remove(int fd);
    // Pause support (vmm/vm/vm_controller.hpp): `fd` is not dispatched from suspend() until
    // resume(); its events stay pending in the kernel. A modify() in between is remembered and
    // applied by resume(). Call on the loop thread.
    void suspend(int fd);
    void resume(int fd);

    // Dispatches events until stop(); returns then.
    void run();
    // Runs one round: waits at most `timeout_ms` (-1: forever) and dispatches what is ready.
    void run_once(int timeout_ms);
    // Makes run() return; safe from any thread and from signal-free contexts.
    void stop();
    [[nodiscard]] bool stopped() const { return m_stopped.load(); }

private:
    // epoll_ctl(EPOLL_CTL_MOD) with the events last asked for, unless the fd is suspended or gone.
    // Call with m_mutex held.
    void apply_watched_locked(int fd);
    // The modify() calls other threads left for the loop thread.
    void apply_deferred();

    UniqueFd m_epoll;
    EventFd m_wake;
    std::atomic<bool> m_stopped{false};
    std::mutex m_mutex;
    std::unordered_map<int, std::shared_ptr<Callback>> m_callbacks;
    std::unordered_map<int, std::uint32_t> m_watched; // fd -> the events asked for (add, modify)
    std::unordered_set<int> m_suspended;
    std::unordered_set<int> m_deferred; // fds whose modify() waits for the loop thread
    // The thread in run_once(); default (no thread) until the loop first runs.
    std::atomic<std::thread::id> m_loop_thread {};
};

} // namespace minivmm
