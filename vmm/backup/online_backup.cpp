// OnlineBackup: copy-before-write + a rate-limited sparse background copier (see the header).
#include "vmm/backup/online_backup.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "vmm/base/exact_io.hpp"

namespace minivmm::backup {
namespace {

bool all_zero(const std::uint8_t* data, std::uint64_t length)
{
    // The first byte is zero and every byte equals its successor: libc's vectorized memcmp
    // instead of a byte loop (this runs over every byte the backup reads).
    return length == 0 || (data[0] == 0 && std::memcmp(data, data + 1, length - 1) == 0);
}

struct OpenedFiles {
    UniqueFd source;
    std::unique_ptr<BackupFile> file;
};

// On the backup worker (openat is in its allow-list, not in the event loop's): the disk opened
// again and DEST's temporary file created. On failure whatever was opened is closed (and the
// temporary file removed) here, on the worker, too.
Expected<OpenedFiles, std::string> open_files(int image_fd, const std::string& destination, std::uint64_t size)
{
    // A description of our own: no O_DIRECT alignment rules, no shared file offset, and the
    // image's lock (held by the device's description) is not touched.
    const std::string source_path = fmt::format("/proc/self/fd/{}", image_fd);
    UniqueFd source(::open(source_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!source)
        return Unexpected(fmt::format("cannot open the disk again for reading: {}", std::strerror(errno)));
    struct stat info {};
    if (::fstat(source.get(), &info) != 0)
        return Unexpected(fmt::format("cannot stat the disk: {}", std::strerror(errno)));
    auto file = BackupFile::create(destination, size, info.st_mode);
    if (!file)
        return Unexpected(file.error());
    return OpenedFiles {std::move(source), std::move(*file)};
}

} // namespace

Expected<std::unique_ptr<OnlineBackup>, std::string> OnlineBackup::start(virtio::VirtioBlk& disk,
    BackupOptions options, BackupWorker& worker)
{
    if (options.path.empty())
        return Unexpected(std::string("no backup destination path given"));
    if (options.bandwidth_bytes_per_s && *options.bandwidth_bytes_per_s == 0)
        return Unexpected(std::string("a backup bandwidth must be more than 0 bytes/s"));
    if (disk.write_interceptor() != nullptr)
        return Unexpected(std::string("a backup of this disk is already running"));

    const int image_fd = disk.image().fd();
    const std::uint64_t size = disk.image().size_bytes();
    std::unique_ptr<OnlineBackup> backup;
    try {
        auto files = worker.call([&] { return open_files(image_fd, options.path, size); });
        if (!files)
            return Unexpected(files.error());
        // From here on a failure destroys `backup`, whose destructor removes the temporary file
        // on the worker.
        backup.reset(new OnlineBackup(disk, worker, std::move(files->source), std::move(files->file), size,
            options.bandwidth_bytes_per_s));
        // The point in time: every write the guest has seen complete, none in flight.
        if (!disk.quiesce_writes())
            return Unexpected(std::string("cannot wait for the disk's in-flight writes"));
        // On the worker (lseek), while this thread keeps the device idle: the disk at the point
        // in time.
        worker.call([raw = backup.get()] { raw->scan_data_blocks(); });
        disk.set_write_interceptor(backup.get());
        backup->m_intercepting.store(true, std::memory_order_release);
        backup->m_copier_done
            = worker.post([raw = backup.get()] { raw->run_copier(); }, [raw = backup.get()] { raw->cancel(); });
    } catch (const std::exception& error) {
        return Unexpected(fmt::format("the backup thread: {}", error.what()));
    }
    // Requests quiesce_writes() left in the ring (no free engine slot then) go now, through
    // copy-before-write.
    disk.process_queue(0);
    return backup;
}

OnlineBackup::OnlineBackup(virtio::VirtioBlk& disk, BackupWorker& worker, UniqueFd source,
    std::unique_ptr<BackupFile> file, std::uint64_t size, std::optional<std::uint64_t> bandwidth)
    : m_disk(disk)
    , m_worker(worker)
    , m_source(std::move(source))
    , m_file(std::move(file))
    , m_claims(size, kBlockSize)
    , m_saved(kSavedBlocks, kBlockSize)
    , m_started(std::chrono::steady_clock::now())
{
    if (bandwidth) {
        // A tenth of a second's worth of tokens (at least one block) as the bucket: smooth, and
        // a whole run fits (run_limit() keeps runs within it).
        const std::uint64_t capacity = std::max<std::uint64_t>(*bandwidth / 10, kBlockSize);
        m_bucket.emplace(*bandwidth, capacity, 0, m_clock);
    }
    // Allocated here, not by the copier, which then needs no mmap(2) for it.
    m_copier_buffer.resize(run_limit() * kBlockSize);
}

OnlineBackup::~OnlineBackup()
{
    cancel();
    if (m_copier_done.valid()) {
        m_copier_done.wait(); // the copier published DEST or removed the temporary file
    } else {
        // start() failed before the copy began: the temporary file goes on the worker, whose
        // allow-list has unlinkat (this thread's has not).
        try {
            m_worker.call([this] { m_file->remove(); });
        } catch (const std::exception&) {
            // The worker is gone (stopped): ~BackupFile tries on this thread.
        }
    }
    if (m_disk.write_interceptor() == this)
        m_disk.set_write_interceptor(nullptr);
}

void OnlineBackup::scan_data_blocks()
{
    // lseek(2) SEEK_DATA / SEEK_HOLE: a hole reads as zeroes, so a block wholly inside one
    // needs no copy (DEST starts as one big hole). Done before copy-before-write is on and
    // with the device idle, so this is the disk at the point in time.
    const int fd = m_source.get();
    const std::uint64_t size = m_claims.disk_size();
    std::uint64_t position = 0;
    while (position < size) {
        const off_t data = ::lseek(fd, static_cast<off_t>(position), SEEK_DATA);
        std::uint64_t data_start = position;
        std::uint64_t data_end = size;
        if (data < 0) {
            if (errno == ENXIO)
                break; // only a hole from here on
            // No SEEK_DATA here (e.g. a block device): everything from here on is data.
        } else {
            data_start = static_cast<std::uint64_t>(data);
            const off_t hole = ::lseek(fd, data, SEEK_HOLE);
            data_end = hole < 0 ? size : std::min<std::uint64_t>(static_cast<std::uint64_t>(hole), size);
        }
        BlockSpan span;
        if (data_end > data_start && m_claims.span_of(data_start, data_end - data_start, span)) {
            for (std::uint64_t block = span.first; block <= span.last; ++block) {
                if (!m_claims.has_data(block)) {
                    m_claims.mark_data(block);
                    m_bytes_total += m_claims.block_length(block);
                }
            }
        }
        if (data_end <= position)
            break; // no progress: a file system answering oddly; the rest stays as marked
        position = data_end;
    }
}

void OnlineBackup::before_write(std::uint64_t offset, std::uint64_t length)
{
    if (!m_intercepting.load(std::memory_order_acquire))
        return;
    ++m_writes_intercepted;
    BlockSpan span;
    if (!m_claims.span_of(offset, length, span))
        return; // past the end of the disk as it was (it grew since)
    for (std::uint64_t block = span.first; block <= span.last; ++block) {
        if (!m_intercepting.load(std::memory_order_acquire))
            return; // the backup failed or was cancelled: the write goes ahead
        if (m_claims.try_claim(block)) {
            copy_before_write(block);
            m_claims.finish(block);
            wake_copier();
        } else {
            // Claimed before: done already, or the copier is copying it right now.
            m_claims.wait_done(block);
        }
    }
}

void OnlineBackup::copy_before_write(std::uint64_t block)
{
    if (!m_claims.has_data(block)) {
        ++m_blocks_holes; // a hole at the point in time: DEST's hole is already right
        return;
    }
    auto slot = m_saved.acquire();
    if (!slot)
        return; // the backup ended or failed meanwhile: nothing to save
    const std::uint64_t length = m_claims.block_length(block);
    const std::uint64_t offset = m_claims.block_offset(block);
    if (int result = pread_exact(m_source.get(), slot->data, length, offset); result != 0) {
        m_saved.release(*slot);
        fail(fmt::format("reading the disk at byte {}: {}", offset, std::strerror(-result)));
        return;
    }
    // Charged to the copier, never waited for here: the guest does not wait for the bucket.
    if (m_bucket)
        m_debt += length;
    m_saved.publish(*slot, block, length);
}

void OnlineBackup::write_saved_blocks()
{
    while (auto slot = m_saved.take()) {
        if (!m_stop.load()) {
            if (int result = write_blocks(slot->data, slot->block, 1); result != 0) {
                fail(fmt::format("writing {}: {}", m_file->temporary_path(), std::strerror(-result)));
            } else {
                m_bytes_copied += slot->length;
                ++m_blocks_before_write;
            }
        }
        m_saved.release(*slot);
    }
}

void OnlineBackup::wake_copier()
{
    // The lock orders this against the copier's predicate check: no lost wake-up.
    { std::lock_guard lock(m_mutex); }
    m_changed.notify_all();
}

void OnlineBackup::wait_for_work(std::uint64_t block, std::chrono::nanoseconds timeout)
{
    std::unique_lock lock(m_mutex);
    m_changed.wait_for(lock, timeout, [this, block] {
        return m_stop.load() || m_saved.has_published() || m_claims.state(block) == BlockClaims::State::Done;
    });
}

int OnlineBackup::write_blocks(const std::uint8_t* buffer, std::uint64_t first, std::uint64_t count)
{
    // Consecutive non-zero blocks go out in one pwrite; zero blocks are skipped (DEST is a hole
    // there already).
    std::uint64_t index = 0;
    while (index < count) {
        const std::uint64_t length = m_claims.block_length(first + index);
        const std::uint8_t* data = buffer + index * kBlockSize;
        if (all_zero(data, length)) {
            ++index;
            continue;
        }
        std::uint64_t end = index + 1;
        std::uint64_t bytes = length;
        while (end < count) {
            const std::uint64_t next = m_claims.block_length(first + end);
            if (all_zero(buffer + end * kBlockSize, next))
                break;
            bytes += next;
            ++end;
        }
        if (int result = m_file->write_at(data, bytes, m_claims.block_offset(first + index)); result != 0)
            return result;
        m_bytes_written += bytes;
        index = end;
    }
    return 0;
}

std::uint64_t OnlineBackup::run_limit() const
{
    std::uint64_t limit = kMaxRunBytes;
    if (m_bucket)
        limit = std::min(limit, m_bucket->capacity());
    return std::max<std::uint64_t>(1, limit / kBlockSize);
}

OnlineBackup::Tokens OnlineBackup::take_tokens(std::uint64_t bytes, std::uint64_t first_block)
{
    if (!m_bucket)
        return m_stop.load() ? Tokens::Stop : Tokens::Taken;
    const std::uint64_t debt = m_debt.exchange(0);
    const std::uint64_t need = bytes + debt;
    for (;;) {
        if (m_stop.load())
            return Tokens::Stop;
        if (m_bucket->try_consume(need))
            return Tokens::Taken;
        if (m_claims.state(first_block) != BlockClaims::State::Untouched) {
            // A guest write copied the run's start meanwhile: plan again rather than pay for it.
            m_debt += debt;
            return Tokens::Replan;
        }
        // Wake at least every kReplanInterval to notice that, and at once when stopped or when
        // copy-before-write saved a block (written out at once: the guest may wait for a buffer).
        const auto wait = std::min<limiter::Nanos>(m_bucket->time_until_available(need), kReplanInterval);
        {
            std::unique_lock lock(m_mutex);
            m_changed.wait_for(lock, wait, [this] { return m_stop.load() || m_saved.has_published(); });
        }
        write_saved_blocks();
    }
}

void OnlineBackup::run_copier()
{
    copy_in_background();
    finish();
}

void OnlineBackup::copy_in_background()
{
    const std::uint64_t max_run = m_copier_buffer.size() / kBlockSize;
    std::uint8_t* const buffer = m_copier_buffer.data();
    const std::uint64_t count = m_claims.block_count();
    std::uint64_t block = 0;
    while (block < count && !m_stop.load()) {
        write_saved_blocks();
        if (m_claims.state(block) != BlockClaims::State::Untouched) {
            ++block;
            continue;
        }
        if (!m_claims.has_data(block)) {
            if (m_claims.try_claim(block)) {
                ++m_blocks_holes;
                m_claims.finish(block);
            }
            ++block;
            continue;
        }
        // A run of untouched data blocks, paid for before it is claimed: a claimed block is
        // copied without delay, so a guest write waiting for it never waits for the bucket.
        std::uint64_t run = 1;
        std::uint64_t run_bytes = m_claims.block_length(block);
        while (run < max_run && block + run < count && m_claims.has_data(block + run)
            && m_claims.state(block + run) == BlockClaims::State::Untouched) {
            run_bytes += m_claims.block_length(block + run);
            ++run;
        }
        const Tokens tokens = take_tokens(run_bytes, block);
        if (tokens == Tokens::Stop)
            break;
        if (tokens == Tokens::Replan)
            continue;
        std::uint64_t claimed = 0;
        std::uint64_t claimed_bytes = 0;
        while (claimed < run && m_claims.try_claim(block + claimed)) {
            claimed_bytes += m_claims.block_length(block + claimed);
            ++claimed;
        }
        if (claimed == 0)
            continue; // a guest write took it meanwhile; look again
        const std::uint64_t offset = m_claims.block_offset(block);
        const int read = pread_exact(m_source.get(), buffer, claimed_bytes, offset);
        // The old contents are in `buffer` now (or the backup fails): a guest write waiting for
        // these blocks may go on while DEST is written.
        for (std::uint64_t i = 0; i < claimed; ++i)
            m_claims.finish(block + i); // also after a failure: nobody may wait forever
        if (read != 0) {
            fail(fmt::format("reading the disk at byte {}: {}", offset, std::strerror(-read)));
        } else if (int written = write_blocks(buffer, block, claimed); written != 0) {
            fail(fmt::format("writing {}: {}", m_file->temporary_path(), std::strerror(-written)));
        } else {
            m_bytes_copied += claimed_bytes;
            m_blocks_background += claimed;
        }
        block += claimed;
    }
    // Blocks a guest write claimed may still be in its copy: wait, writing what it saves, so
    // verify() sees them all. (Every claimer finishes its blocks, also when it fails, and saves
    // before it finishes, so this ends with every saved block written.)
    for (block = 0; block < count && !m_stop.load(); ++block) {
        while (m_claims.state(block) != BlockClaims::State::Done && !m_stop.load()) {
            write_saved_blocks();
            wait_for_work(block, kReplanInterval);
        }
    }
    write_saved_blocks();
}

bool OnlineBackup::verify() const
{
    // The source changed meanwhile, so no comparison with it: the bookkeeping must show every
    // block taken exactly once, by exactly one of the three ways, and every data byte copied.
    const std::uint64_t count = m_claims.block_count();
    return m_claims.done_count() == count
        && m_blocks_before_write + m_blocks_background + m_blocks_holes == count
        && m_bytes_copied == m_bytes_total;
}

void OnlineBackup::finish()
{
    std::string error;
    bool published = false;
    if (!m_stop.load()) {
        if (!verify()) {
            error = fmt::format("verification failed: {} of {} blocks done ({} before writes, {} in the background, "
                                "{} holes), {} of {} bytes copied",
                m_claims.done_count(), m_claims.block_count(), m_blocks_before_write.load(),
                m_blocks_background.load(), m_blocks_holes.load(), m_bytes_copied.load(), m_bytes_total.load());
        } else if (auto result = m_file->publish(); !result) {
            error = result.error();
        } else {
            published = true;
        }
    }
    m_intercepting.store(false, std::memory_order_release);
    m_saved.close();
    if (!published)
        m_file->remove();
    std::lock_guard lock(m_mutex);
    if (m_error.empty() && !error.empty())
        m_error = fmt::format("backup to {} failed: {}", m_file->destination(), error);
    if (!m_error.empty())
        m_state = BackupState::Failed;
    else if (published)
        m_state = BackupState::Completed;
    else
        m_state = BackupState::Cancelled;
    m_ended = std::chrono::steady_clock::now();
    m_changed.notify_all();
}

void OnlineBackup::fail(std::string reason)
{
    // Copy-before-write off first: the guest's writes must not wait for a backup that is over.
    m_intercepting.store(false, std::memory_order_release);
    m_saved.close();
    std::lock_guard lock(m_mutex);
    if (m_error.empty() && !m_cancel_requested)
        m_error = fmt::format("backup to {} failed: {} (the partial copy was removed)", m_file->destination(), reason);
    m_stop.store(true);
    m_changed.notify_all();
}

void OnlineBackup::cancel()
{
    m_intercepting.store(false, std::memory_order_release);
    m_saved.close();
    std::lock_guard lock(m_mutex);
    if (m_state != BackupState::Running)
        return;
    m_cancel_requested = true;
    m_stop.store(true);
    m_changed.notify_all();
}

BackupState OnlineBackup::wait_for(std::chrono::milliseconds timeout) const
{
    std::unique_lock lock(m_mutex);
    m_changed.wait_for(lock, timeout, [this] { return m_state != BackupState::Running; });
    return m_state;
}

BackupProgress OnlineBackup::progress() const
{
    BackupProgress progress;
    progress.path = m_file->destination();
    progress.bytes_copied = m_bytes_copied.load();
    progress.bytes_total = m_bytes_total.load();
    progress.bytes_written = m_bytes_written.load();
    progress.guest_writes_intercepted = m_writes_intercepted.load();
    progress.blocks_copied_before_write = m_blocks_before_write.load();
    progress.blocks_copied_in_background = m_blocks_background.load();
    progress.blocks_skipped_as_holes = m_blocks_holes.load();
    std::lock_guard lock(m_mutex);
    progress.state = m_state;
    progress.error = m_error;
    const auto end = m_ended.value_or(std::chrono::steady_clock::now());
    progress.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(end - m_started);
    return progress;
}

} // namespace minivmm::backup
