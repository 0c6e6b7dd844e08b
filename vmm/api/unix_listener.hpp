// UnixListener: the API's listening Unix socket at a path (README.md, "API"). Created mode 0600
// (only the VM's owner may control it); an existing file at the path is replaced only when it is
// a stale socket (connect() is refused: no process serves it), never a regular file, a directory
// or a live socket; the path is unlinked again when the listener dies, if it is still ours.
#pragma once

#include <sys/types.h>

#include <string>

#include "vmm/base/unique_fd.hpp"

namespace minivmm::api {

class UnixListener {
public:
    // Throws UserError (path too long, occupied by a file or a live socket) or SysError.
    static UnixListener bind(const std::string& path);
    ~UnixListener();
    UnixListener(UnixListener&& other) noexcept;
    UnixListener& operator=(UnixListener&&) = delete;
    UnixListener(const UnixListener&) = delete;

    [[nodiscard]] int fd() const { return m_fd.get(); }
    // Hands the socket to its new owner (the HTTP daemon closes it); the path stays ours.
    [[nodiscard]] int release_fd() { return m_fd.release(); }
    [[nodiscard]] const std::string& path() const { return m_path; }

private:
    UnixListener(UniqueFd fd, std::string path, dev_t device, ino_t inode);

    UniqueFd m_fd;
    std::string m_path; // empty once moved from
    dev_t m_device = 0;
    ino_t m_inode = 0;
};

} // namespace minivmm::api
