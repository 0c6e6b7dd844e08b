// Tests for vmm/backup/backup_worker.hpp: jobs on the serving thread, in order, with results;
// a stop cancels what runs and what waits, lets it end, and drops later jobs.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "vmm/backup/backup_worker.hpp"

using minivmm::backup::BackupWorker;
using namespace std::chrono_literals;

namespace {
// A worker with its thread, as Vm::run runs a service thread.
struct ServedWorker {
    BackupWorker worker;
    std::jthread thread {[this](std::stop_token stop) { worker.serve(stop); }};
};
} // namespace

TEST_CASE("backup worker: every job runs on the serving thread, in order; call returns its result or rethrows")
{
    ServedWorker served;
    BackupWorker& worker = served.worker;
    CHECK(worker.call([] { return std::this_thread::get_id(); }) == served.thread.get_id());
    CHECK(worker.call([] { return 42; }) == 42);
    CHECK_THROWS_WITH(worker.call([]() -> int { throw std::runtime_error("job failed"); }), "job failed");

    std::vector<int> order;
    std::mutex gate;
    std::unique_lock hold(gate); // the first job waits until everything is queued
    auto first = worker.post(
        [&] {
            std::lock_guard wait(gate);
            order.push_back(1);
        },
        {});
    auto second = worker.post([&] { order.push_back(2); }, {});
    hold.unlock();
    worker.call([&] { order.push_back(3); });
    first.wait();
    second.wait();
    CHECK(order == std::vector<int> {1, 2, 3});
}

TEST_CASE("backup worker: a stop cancels the running and the queued jobs, lets them end, and drops later ones")
{
    ServedWorker served;
    BackupWorker& worker = served.worker;
    std::mutex mutex;
    std::condition_variable changed;
    bool running = false;
    bool cancelled = false;
    auto endless = worker.post(
        [&] {
            std::unique_lock lock(mutex);
            running = true;
            changed.notify_all();
            changed.wait(lock, [&] { return cancelled; }); // a copy that only a cancel ends
        },
        [&] {
            std::lock_guard lock(mutex);
            cancelled = true;
            changed.notify_all();
        });
    std::atomic<bool> queued_cancelled {false};
    std::atomic<bool> queued_ran {false};
    auto queued = worker.post([&] { queued_ran = true; }, [&] { queued_cancelled = true; });
    {
        std::unique_lock lock(mutex);
        REQUIRE(changed.wait_for(lock, 10s, [&] { return running; }));
    }
    served.thread.request_stop();
    served.thread.join();
    CHECK(endless.wait_for(0s) == std::future_status::ready);
    CHECK(queued_cancelled);
    CHECK(queued_ran); // a cancelled job still runs to its early end (a backup removes its file there)

    auto late = worker.post([] {}, {});
    CHECK_THROWS_AS(late.get(), std::future_error); // broken promise: never ran
    CHECK_THROWS_AS(worker.call([] { return 1; }), std::future_error);
}
