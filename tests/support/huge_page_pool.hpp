// HugePagePool: sets the host's persistent huge-page pool (/proc/sys/vm/nr_hugepages, root only)
// for one test and restores the previous size when the test ends, so --hugepages can be tested
// with an empty pool and with a pool too small for the guest.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <string>

namespace minivmm::testing {

class HugePagePool {
public:
    static constexpr const char* kPath = "/proc/sys/vm/nr_hugepages";
    static constexpr const char* kLockPath = "/tmp/minivmm-test-hugepage-pool.lock";

    // Asks for `pages` default-size huge pages. The kernel may grant fewer (fragmented memory);
    // pages() says what the pool holds. ok() is false when the pool cannot be changed (not root).
    // The pool is host-wide: tests that set it (unit and integration suites run in parallel)
    // take turns through an flock on kLockPath, held for the object's life.
    explicit HugePagePool(long pages)
        : m_lock_fd(::open(kLockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0600))
    {
        if (m_lock_fd >= 0)
            ::flock(m_lock_fd, LOCK_EX);
        m_previous = read();
        if (m_previous && write(pages))
            m_pages = read();
    }
    ~HugePagePool()
    {
        if (m_previous)
            write(*m_previous);
        if (m_lock_fd >= 0)
            ::close(m_lock_fd);
    }
    HugePagePool(const HugePagePool&) = delete;
    HugePagePool& operator=(const HugePagePool&) = delete;

    [[nodiscard]] bool ok() const { return m_pages.has_value(); }
    [[nodiscard]] long pages() const { return m_pages.value_or(-1); }

private:
    static std::optional<long> read()
    {
        std::ifstream in(kPath);
        long pages = 0;
        if (!(in >> pages))
            return std::nullopt;
        return pages;
    }
    static bool write(long pages)
    {
        std::ofstream out(kPath);
        out << pages << '\n';
        out.flush();
        return static_cast<bool>(out);
    }

    int m_lock_fd;
    std::optional<long> m_previous;
    std::optional<long> m_pages;
};

} // namespace minivmm::testing
