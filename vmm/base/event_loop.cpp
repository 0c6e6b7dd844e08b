#include "vmm/base/event_loop.hpp"

#include <cerrno>
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
    {
        std::lock_guard lock(m_mutex);
        if (m_callbacks.contains(fd))
            m_watched[fd] = events;
        if (m_suspended.contains(fd))
            return;
    }
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    if (::epoll_ctl(m_epoll.get(), EPOLL_CTL_MOD, fd, &event) < 0)
        throw SysError(fmt::format("epoll_ctl modify fd {}", fd));
}

void EventLoop::remove(int fd)
{
    ::epoll_ctl(m_epoll.get(), EPOLL_CTL_DEL, fd, nullptr);
    std::lock_guard lock(m_mutex);
    m_callbacks.erase(fd);
    m_watched.erase(fd);
    m_suspended.erase(fd);
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
