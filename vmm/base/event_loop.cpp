#include "vmm/base/event_loop.hpp"

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"

namespace minivmm {

EventLoop::EventLoop() : m_epoll(::epoll_create1(EPOLL_CLOEXEC))
{
    if (!m_epoll)
        throw SysError("epoll_create1");
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = m_wake.fd();
    if (::epoll_ctl(m_epoll.get(), EPOLL_CTL_ADD, m_wake.fd(), &event) < 0)
        throw SysError("epoll_ctl add wake eventfd");
}

void EventLoop::add(int fd, std::uint32_t events, Callback callback)
{
    {
        std::lock_guard lock(m_mutex);
        m_callbacks[fd] = std::make_shared<Callback>(std::move(callback));
        m_watched[fd] = events;
    }
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    if (::epoll_ctl(m_epoll.get(), EPOLL_CTL_ADD, fd, &event) < 0) {
        const int error = errno;
        std::lock_guard lock(m_mutex);
        m_callbacks.erase(fd);
        throw SysError(fmt::format("epoll_ctl add fd {}", fd), error);
    }
}

void EventLoop::modify(int fd, std::uint32_t events)
{
    const std::thread::id loop_thread = m_loop_thread.load();
    if (loop_thread != std::thread::id {} && loop_thread != std::this_thread::get_id()) {
        {
            std::lock_guard lock(m_mutex);
            if (!m_callbacks.contains(fd))
                return; // removed meanwhile: nothing to change
            m_watched[fd] = events;
            m_deferred.insert(fd);
        }
        m_wake.signal();
        return;
    }
    {
        std::lock_guard lock(m_mutex);
        if (m_callbacks.contains(fd))
            m_watched[fd] = events;
        m_deferred.erase(fd); // this call supersedes one another thread left
        if (m_suspended.contains(fd))
            return;
    }
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    if (::epoll_ctl(m_epoll.get(), EPOLL_CTL_MOD, fd, &event) < 0)
        throw SysError(fmt::format("epoll_ctl modify fd {}", fd));
}

void EventLoop::apply_watched_locked(int fd)
{
    if (!m_callbacks.contains(fd) || m_suspended.contains(fd))
        return; // gone, or resume() applies m_watched later
    epoll_event event{};
    event.events = m_watched[fd];
    event.data.fd = fd;
    if (::epoll_ctl(m_epoll.get(), EPOLL_CTL_MOD, fd, &event) < 0)
        fmt::print(stderr, "minivmm: warning: epoll_ctl modify fd {} (asked from another thread): {}\n", fd,
            std::strerror(errno));
}

void EventLoop::apply_deferred()
{
    std::lock_guard lock(m_mutex);
    for (const int fd : m_deferred)
        apply_watched_locked(fd);
    m_deferred.clear();
}

void EventLoop::remove(int fd)
{
    ::epoll_ctl(m_epoll.get(), EPOLL_CTL_DEL, fd, nullptr);
    std::lock_guard lock(m_mutex);
    m_callbacks.erase(fd);
    m_watched.erase(fd);
    m_suspended.erase(fd);
    m_deferred.erase(fd);
}

void EventLoop::suspend(int fd)
{
    std::lock_guard lock(m_mutex);
    if (!m_callbacks.contains(fd) || !m_suspended.insert(fd).second)
        return;
    epoll_event event{};
    event.data.fd = fd;
    ::epoll_ctl(m_epoll.get(), EPOLL_CTL_MOD, fd, &event); // no events: nothing is reported
}

void EventLoop::resume(int fd)
{
    std::lock_guard lock(m_mutex);
    if (m_suspended.erase(fd) == 0)
        return;
    epoll_event event{};
    event.events = m_watched[fd];
    event.data.fd = fd;
    if (::epoll_ctl(m_epoll.get(), EPOLL_CTL_MOD, fd, &event) < 0)
        throw SysError(fmt::format("epoll_ctl resume fd {}", fd));
}

void EventLoop::run_once(int timeout_ms)
{
    // A modify() from another thread signals m_wake after recording itself: applied when the
    // wake-up is dispatched below, not at every round.
    m_loop_thread.store(std::this_thread::get_id());
    constexpr int kMaxEvents = 32;
    epoll_event events[kMaxEvents];
    const int count = ::epoll_wait(m_epoll.get(), events, kMaxEvents, timeout_ms);
    if (count < 0) {
        if (errno == EINTR)
            return;
        throw SysError("epoll_wait");
    }
    for (int i = 0; i < count; ++i) {
        const int fd = events[i].data.fd;
        if (fd == m_wake.fd()) {
            m_wake.consume();
            apply_deferred(); // before the callbacks of this round run
            continue;
        }
        std::shared_ptr<Callback> callback;
        {
            std::lock_guard lock(m_mutex);
            auto it = m_callbacks.find(fd);
            if (it == m_callbacks.end())
                continue; // removed by an earlier callback in this round
            callback = it->second;
        }
        (*callback)(events[i].events);
    }
}

void EventLoop::run()
{
    while (!m_stopped.load())
        run_once(-1);
}

void EventLoop::stop()
{
    m_stopped.store(true);
    m_wake.signal();
}

} // namespace minivmm
