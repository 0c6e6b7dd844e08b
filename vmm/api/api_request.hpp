// ApiRequest and parse_request(): the control API's router and validator (README.md, "API").
// Pure: method, path and body in, one typed request or one ApiError out; no KVM, no devices, no
// sockets, so it is unit-tested exhaustively and fuzzed (tests/fuzz/fuzz_api_request.cpp).
// Everything here arrives from outside and is hostile (DESIGN.md, "The control plane").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "vmm/base/expected.hpp"

namespace minivmm::api {

// The most body bytes a request may carry (the limit; larger is a 400).
inline constexpr std::size_t kMaxBodyBytes = 64 * 1024;

// An error answer: HTTP status and one line for {"error": "..."}.
struct ApiError {
    int status = 400;
    std::string message;
};

struct GetVm {};
struct GetMetrics {};

enum class RunState { Running, Paused };
struct SetState {
    RunState state;
};

enum class ActionKind { Shutdown, Stop };
inline constexpr double kDefaultShutdownTimeoutSeconds = 30;
struct VmAction {
    ActionKind kind;
    double timeout_s = kDefaultShutdownTimeoutSeconds; // shutdown only: stop after this long
};

// One device's new I/O limits. Absent keys keep their value; 0 removes that limit.
struct DeviceLimits {
    std::string id;
    std::optional<std::uint64_t> bw;   // bytes per second
    std::optional<std::uint64_t> ops;  // iops (disks) or pps (nets)
};
struct PatchLimits {
    // cpu_limit: absent = unchanged; null = no limit; a number of host CPUs > 0.
    bool cpu_limit_given = false;
    std::optional<double> cpu_limit;
    std::optional<std::vector<std::uint32_t>> vcpu_priority;
    std::vector<DeviceLimits> disks; // "disks": {"blk0": {"bw": "8M", "iops": 100}}
    std::vector<DeviceLimits> nets;  // "nets": {"net0": {"bw": "1M", "pps": 1000}}
};

struct ResizeDisk {
    std::string id;
    std::uint64_t size = 0;
};

struct StartBackup {
    std::string id;
    std::string path;
    std::optional<std::uint64_t> bandwidth; // bytes per second; absent = unlimited
};
struct GetBackup {
    std::string id;
};
struct CancelBackup {
    std::string id;
};

// POST /v1/vm/snapshot {"path": DIR, "leave_paused": bool}: pause, write DIR/memory and
// DIR/vmstate, resume unless leave_paused (README.md, "Snapshots").
struct TakeSnapshot {
    std::string path;          // absolute
    bool leave_paused = false;
};

using ApiRequest = std::variant<GetVm, GetMetrics, SetState, VmAction, PatchLimits, ResizeDisk, StartBackup,
    GetBackup, CancelBackup, TakeSnapshot>;

// Routes and validates one request. 404: unknown method+path; 400: a body over kMaxBodyBytes, not
// JSON, not an object, unknown or missing fields, wrong types, values out of range. A body on a
// GET or DELETE must be empty. Never throws.
Expected<ApiRequest, ApiError> parse_request(std::string_view method, std::string_view path, std::string_view body);

} // namespace minivmm::api
