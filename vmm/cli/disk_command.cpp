#include "vmm/cli/disk_command.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include "vmm/disk/backup_disk.hpp"
#include "vmm/disk/create_disk.hpp"
#include "vmm/disk/resize_disk.hpp"
#include "vmm/limiter/size_parser.hpp"

namespace minivmm::cli {

namespace {
std::string mib(std::uint64_t bytes) { return fmt::format("{:.1f} MiB", double(bytes) / double(1 << 20)); }

// A one-line bar redrawn in place ("\r"), only on a terminal; at most 100 redraws.
class ProgressBar {
public:
    explicit ProgressBar(std::string label) : m_label(std::move(label)), m_enabled(::isatty(STDERR_FILENO) == 1) {}
    ~ProgressBar()
    {
        if (m_enabled && m_drawn)
            fmt::print(stderr, "\n");
    }
    void update(std::uint64_t done, std::uint64_t total)
    {
        if (!m_enabled)
            return;
        const int percent = total ? static_cast<int>(done * 100 / total) : 100;
        if (percent == m_last_percent)
            return;
        m_last_percent = percent;
        constexpr int kWidth = 40;
        const int filled = percent * kWidth / 100;
        fmt::print(stderr, "\r{} [{}{}] {:3}% {}/{}", m_label, std::string(std::size_t(filled), '#'),
            std::string(std::size_t(kWidth - filled), ' '), percent, mib(done), mib(total));
        m_drawn = true;
    }

private:
    std::string m_label;
    bool m_enabled;
    bool m_drawn = false;
    int m_last_percent = -1;
};
} // namespace

DiskCommand::DiskCommand(CLI::App& app)
{
    m_command = app.add_subcommand("disk", "Create, grow and back up raw disk images (offline)");
    m_command->require_subcommand(1);
    m_create = m_command->add_subcommand("create", "Create a sparse raw image (refuses to overwrite)");
    m_create->add_option("path", m_path, "Image file to create")->required();
    m_create->add_option("size", m_size, "Size, e.g. 10G (rounded up to 512-byte sectors)")->required();
    m_resize = m_command->add_subcommand("resize", "Grow an image, or shrink it over unused space only");
    m_resize->add_option("path", m_path, "Image file")->required();
    m_resize->add_option("size", m_size, "New size, e.g. 20G")->required();
    m_backup = m_command->add_subcommand("backup", "Sparse-aware copy of an image, verified after writing");
    m_backup->add_option("source", m_source, "Image to copy (must not be in use by a VM)")->required();
    m_backup->add_option("destination", m_destination, "New file (refuses to overwrite)")->required();
}

int DiskCommand::run() const
{
    if (m_create->parsed()) {
        const std::uint64_t size = disk::create_disk(m_path, limiter::parse_size(m_size));
        fmt::print("created {} ({} bytes, sparse)\n", m_path, size);
    } else if (m_resize->parsed()) {
        const auto result = disk::resize_disk(m_path, limiter::parse_size(m_size));
        fmt::print("resized {} from {} to {} bytes\n", m_path, result.old_size, result.new_size);
    } else if (m_backup->parsed()) {
        ProgressBar bar("backup");
        const auto result = disk::backup_disk(m_source, m_destination,
            [&bar](std::uint64_t done, std::uint64_t total) { bar.update(done, total); });
        fmt::print("backed up {} to {}: {} bytes, {} of data copied, verified (checksum {:016x})\n", m_source,
            m_destination, result.size, mib(result.data_bytes), result.checksum);
    }
    return 0;
}

} // namespace minivmm::cli
