// EventLoop across threads: stop(), add() and remove() from other threads while run() dispatches
// on its own (the VMM's vCPU threads and signal path do exactly that). Also what the
// ThreadSanitizer build checks for races in the loop.
#include <catch2/catch.hpp>

#include <seccomp.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "vmm/base/event_fd.hpp"
#include "vmm/base/event_loop.hpp"

using minivmm::EventFd;
using minivmm::EventLoop;
using namespace std::chrono_literals;

namespace {

// Runs loop.run() on a thread of its own; the future is ready once run() returned.
std::future<void> run_on_thread(EventLoop& loop)
{
    return std::async(std::launch::async, [&loop] { loop.run(); });
}

// Polls `done` until it holds or `timeout` passed.
template<class Predicate>
bool eventually(Predicate done, std::chrono::milliseconds timeout = 5000ms)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

} // namespace

TEST_CASE("event loop: stop() from another thread ends a run() blocked in epoll_wait", "[base][event_loop]")
{
    EventLoop loop;
    auto running = run_on_thread(loop);
    CHECK(running.wait_for(50ms) == std::future_status::timeout); // blocked, nothing to do
    loop.stop();
    REQUIRE(running.wait_for(5s) == std::future_status::ready);
    CHECK(loop.stopped());
}

TEST_CASE("event loop: an fd added from another thread while run() waits is dispatched on the loop thread",
    "[base][event_loop]")
{
    EventLoop loop;
    EventFd ready;
    std::atomic<int> calls {0};
    std::atomic<bool> on_loop_thread {false};
    std::thread::id loop_thread;
    auto running = std::async(std::launch::async, [&] {
        loop_thread = std::this_thread::get_id();
        loop.run();
    });
    loop.add(ready.fd(), EPOLLIN, [&](std::uint32_t) {
        ready.consume();
        on_loop_thread = std::this_thread::get_id() == loop_thread;
        ++calls;
    });
    ready.signal();
    CHECK(eventually([&] { return calls.load() == 1; }));
    loop.stop();
    REQUIRE(running.wait_for(5s) == std::future_status::ready);
    CHECK(on_loop_thread);
}

TEST_CASE("event loop: add() and remove() from other threads while run() dispatches; a removed fd calls nothing",
    "[base][event_loop]")
{
    EventLoop loop;
    constexpr int kFds = 8;
    constexpr int kRounds = 200;
    std::vector<std::unique_ptr<EventFd>> fds;
    for (int i = 0; i < kFds; ++i)
        fds.push_back(std::make_unique<EventFd>());
    std::atomic<long> calls {0};
    auto running = run_on_thread(loop);
    // Waits until the loop thread has run one callback added now: every round that started
    // before this call (and could still hold a callback removed from another thread) is over.
    const auto round_trip = [&loop] {
        EventFd marker;
        std::atomic<bool> seen {false};
        loop.add(marker.fd(), EPOLLIN, [&](std::uint32_t) {
            marker.consume();
            seen = true;
        });
        marker.signal();
        const bool ok = eventually([&] { return seen.load(); });
        loop.remove(marker.fd());
        return ok;
    };
    std::vector<std::thread> churners;
    for (int t = 0; t < 2; ++t)
        churners.emplace_back([&, t] {
            for (int round = 0; round < kRounds; ++round)
                for (int i = t; i < kFds; i += 2) {
                    EventFd& fd = *fds[static_cast<std::size_t>(i)];
                    loop.add(fd.fd(), EPOLLIN, [&fd, &calls](std::uint32_t) {
                        fd.consume();
                        ++calls;
                    });
                    fd.signal();
                    loop.remove(fd.fd());
                }
        });
    for (auto& churner : churners)
        churner.join();
    REQUIRE(round_trip());
    const long settled = calls.load();
    for (auto& fd : fds)
        fd->signal();
    REQUIRE(round_trip());
    CHECK(calls.load() == settled);
    loop.stop();
    REQUIRE(running.wait_for(5s) == std::future_status::ready);
}

// Pause support (vm_controller.hpp): a suspended fd is not dispatched, its events wait in the
// kernel, and a modify() while suspended is applied at resume.
TEST_CASE("event loop: a suspended fd waits until resume", "[base][event_loop]")
{
    EventLoop loop;
    EventFd event;
    int calls = 0;
    loop.add(event.fd(), EPOLLIN, [&](std::uint32_t) {
        ++calls;
        event.consume();
    });
    loop.suspend(event.fd());
    event.signal();
    loop.run_once(0);
    CHECK(calls == 0);
    loop.resume(event.fd());
    loop.run_once(0);
    CHECK(calls == 1);
}

TEST_CASE("event loop: modify while suspended takes effect at resume", "[base][event_loop]")
{
    EventLoop loop;
    EventFd event;
    int calls = 0;
    loop.add(event.fd(), EPOLLIN, [&](std::uint32_t) { ++calls; });
    event.signal();
    loop.suspend(event.fd());
    loop.modify(event.fd(), 0); // the device lost interest meanwhile
    loop.resume(event.fd());
    loop.run_once(0);
    CHECK(calls == 0);
    loop.modify(event.fd(), EPOLLIN);
    loop.run_once(0);
    CHECK(calls == 1);
}

// A vCPU thread's seccomp filter has no epoll_ctl (vmm/sandbox/allow_lists.cpp), yet a guest's
// MMIO write can change what a device watches: virtio-net's reset or DRIVER_OK stops or starts
// polling its tap from the vCPU thread. Such a modify() must be handed to the loop thread. The
// test thread forbids itself epoll_ctl (EPERM, not a kill) the way the vCPU filter does.
TEST_CASE("event loop: modify() from a thread that may not call epoll_ctl is applied by the loop thread",
    "[base][event_loop]")
{
    EventLoop loop;
    EventFd event;
    std::atomic<int> calls {0};
    loop.add(event.fd(), EPOLLIN, [&](std::uint32_t) {
        event.consume();
        ++calls;
    });
    loop.modify(event.fd(), 0); // not watched yet: a signal now stays in the kernel
    auto running = run_on_thread(loop);
    event.signal();
    CHECK(running.wait_for(50ms) == std::future_status::timeout);
    CHECK(calls.load() == 0);

    std::string failure;
    std::thread vcpu_like([&] {
        scmp_filter_ctx filter = seccomp_init(SCMP_ACT_ALLOW);
        if (filter == nullptr || seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(epoll_ctl), 0) != 0
            || seccomp_load(filter) != 0) {
            failure = "could not load the test's seccomp filter";
        } else {
            try {
                loop.modify(event.fd(), EPOLLIN);
            } catch (const std::exception& error) {
                failure = error.what();
            }
        }
        seccomp_release(filter);
    });
    vcpu_like.join();
    INFO(failure);
    CHECK(failure.empty());
    // The pending signal is dispatched once the loop thread applied the change.
    CHECK(eventually([&] { return calls.load() == 1; }));
    loop.stop();
    REQUIRE(running.wait_for(5s) == std::future_status::ready);
}
