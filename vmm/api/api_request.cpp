// The control API's router and request validator (api_request.hpp). Every body is checked whole
// before a typed request exists: the exact set of fields, their JSON types and their ranges.
#include "vmm/api/api_request.hpp"

#include <cmath>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "vmm/base/device_id.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/limiter/size_parser.hpp"

namespace minivmm::api {

namespace {

using Json = nlohmann::json;

Unexpected<ApiError> bad(std::string message) { return Unexpected(ApiError {400, std::move(message)}); }
Unexpected<ApiError> not_found(std::string message) { return Unexpected(ApiError {404, std::move(message)}); }

// One JSON object body: parsed without exceptions, duplicate-free (nlohmann keeps the last of a
// duplicated key silently, so a body that says two things is refused by the parser callback).
Expected<Json, ApiError> parse_object(std::string_view body, const std::set<std::string_view>& allowed,
    const std::set<std::string_view>& required = {})
{
    if (body.empty())
        return bad("the request needs a JSON object body");
    // RFC 8259 §7: control characters appear in JSON only escaped. nlohmann stops reading at a
    // NUL byte and would accept `{...}\0garbage` as the object before it.
    if (body.find('\0') != std::string_view::npos)
        return bad("the body is not valid JSON (a NUL byte)");
    std::vector<std::set<std::string>> open_objects;
    std::optional<std::string> duplicate;
    const Json::parser_callback_t check_keys = [&](int, Json::parse_event_t event, Json& parsed) {
        if (event == Json::parse_event_t::object_start) {
            open_objects.emplace_back();
        } else if (event == Json::parse_event_t::object_end && !open_objects.empty()) {
            open_objects.pop_back();
        } else if (event == Json::parse_event_t::key && !open_objects.empty() && parsed.is_string()) {
            if (!open_objects.back().insert(parsed.get<std::string>()).second && !duplicate)
                duplicate = parsed.get<std::string>();
        }
        return true;
    };
    Json json = Json::parse(body, check_keys, /*allow_exceptions=*/false);
    if (json.is_discarded())
        return bad("the body is not valid JSON");
    if (duplicate)
        return bad(fmt::format("field '{}' is given twice", *duplicate));
    if (!json.is_object())
        return bad("the body must be a JSON object");
    for (const auto& [key, value] : json.items()) {
        if (!allowed.contains(key))
            return bad(fmt::format("unknown field '{}'", key));
    }
    for (const auto& key : required) {
        if (!json.contains(key))
            return bad(fmt::format("missing field '{}'", key));
    }
    return json;
}

// A byte count or rate: a JSON integer >= 0, or a string in parse_size units ("8M", "16G").
Expected<std::uint64_t, ApiError> size_value(const Json& value, std::string_view field)
{
    if (value.is_number_unsigned())
        return value.get<std::uint64_t>();
    if (value.is_string()) {
        try {
            return limiter::parse_size(value.get_ref<const std::string&>());
        } catch (const UserError& error) {
            return bad(fmt::format("'{}': {}", field, error.what()));
        }
    }
    return bad(fmt::format("'{}' must be a size: a non-negative integer or a string like \"8M\"", field));
}

Expected<std::uint64_t, ApiError> count_value(const Json& value, std::string_view field)
{
    if (value.is_number_unsigned())
        return value.get<std::uint64_t>();
    return bad(fmt::format("'{}' must be a non-negative integer", field));
}

Expected<ApiRequest, ApiError> parse_state(std::string_view body)
{
    auto json = parse_object(body, {"state"}, {"state"});
    if (!json)
        return Unexpected(json.error());
    const Json& state = (*json)["state"];
    if (!state.is_string())
        return bad("'state' must be \"paused\" or \"running\"");
    const auto& text = state.get_ref<const std::string&>();
    if (text == "paused")
        return ApiRequest {SetState {RunState::Paused}};
    if (text == "running")
        return ApiRequest {SetState {RunState::Running}};
    return bad("'state' must be \"paused\" or \"running\"");
}

Expected<ApiRequest, ApiError> parse_action(std::string_view body)
{
    auto json = parse_object(body, {"action", "timeout_s"}, {"action"});
    if (!json)
        return Unexpected(json.error());
    const Json& action = (*json)["action"];
    if (!action.is_string())
        return bad("'action' must be \"shutdown\" or \"stop\"");
    const auto& text = action.get_ref<const std::string&>();
    VmAction request;
    if (text == "shutdown")
        request.kind = ActionKind::Shutdown;
    else if (text == "stop")
        request.kind = ActionKind::Stop;
    else
        return bad("'action' must be \"shutdown\" or \"stop\"");
    if (json->contains("timeout_s")) {
        if (request.kind != ActionKind::Shutdown)
            return bad("'timeout_s' applies to \"shutdown\" only");
        const Json& timeout = (*json)["timeout_s"];
        if (!timeout.is_number())
            return bad("'timeout_s' must be a number of seconds");
        const double seconds = timeout.get<double>();
        // Up to a day: a deadline further than that is a typo, and it must fit a timerfd.
        if (!std::isfinite(seconds) || seconds <= 0 || seconds > 86400)
            return bad("'timeout_s' must be more than 0 and at most 86400 seconds");
        request.timeout_s = seconds;
    }
    return ApiRequest {request};
}

// "disks": {"blk0": {"bw": .., "iops": ..}} or "nets": {"net0": {"bw": .., "pps": ..}}.
Expected<std::vector<DeviceLimits>, ApiError> parse_device_limits(const Json& devices, std::string_view field,
    std::string_view ops_key)
{
    if (!devices.is_object())
        return bad(fmt::format("'{}' must be an object of device id -> limits", field));
    std::vector<DeviceLimits> result;
    for (const auto& [id, limits] : devices.items()) {
        if (!valid_device_id(id))
            return bad(fmt::format("'{}': '{}' is not a device id", field, id));
        if (!limits.is_object())
            return bad(fmt::format("'{}.{}' must be an object", field, id));
        DeviceLimits device {id, std::nullopt, std::nullopt};
        for (const auto& [key, value] : limits.items()) {
            const std::string name = fmt::format("{}.{}.{}", field, id, key);
            if (key == "bw") {
                auto bytes = size_value(value, name);
                if (!bytes)
                    return Unexpected(bytes.error());
                device.bw = *bytes;
            } else if (key == ops_key) {
                auto ops = count_value(value, name);
                if (!ops)
                    return Unexpected(ops.error());
                device.ops = *ops;
            } else {
                return bad(fmt::format("unknown field '{}' (expected bw or {})", name, ops_key));
            }
        }
        if (!device.bw && !device.ops)
            return bad(fmt::format("'{}.{}' changes nothing (give bw or {})", field, id, ops_key));
        result.push_back(std::move(device));
    }
    return result;
}

Expected<ApiRequest, ApiError> parse_limits(std::string_view body)
{
    auto json = parse_object(body, {"cpu_limit", "vcpu_priority", "disks", "nets"});
    if (!json)
        return Unexpected(json.error());
    PatchLimits request;
    if (json->empty())
        return bad("the body changes nothing (give cpu_limit, vcpu_priority, disks or nets)");
    if (json->contains("cpu_limit")) {
        const Json& limit = (*json)["cpu_limit"];
        request.cpu_limit_given = true;
        if (limit.is_number()) {
            const double cpus = limit.get<double>();
            if (!std::isfinite(cpus) || cpus <= 0)
                return bad("'cpu_limit' must be a number of host CPUs above 0, or null for no limit");
            request.cpu_limit = cpus;
        } else if (!limit.is_null()) {
            return bad("'cpu_limit' must be a number of host CPUs above 0, or null for no limit");
        }
    }
    if (json->contains("vcpu_priority")) {
        const Json& list = (*json)["vcpu_priority"];
        if (!list.is_array() || list.empty())
            return bad("'vcpu_priority' must be a non-empty array of integers 1..1000000");
        std::vector<std::uint32_t> priorities;
        for (const Json& item : list) {
            if (!item.is_number_unsigned() || item.get<std::uint64_t>() < 1 || item.get<std::uint64_t>() > 1'000'000)
                return bad("'vcpu_priority' must be a non-empty array of integers 1..1000000");
            priorities.push_back(static_cast<std::uint32_t>(item.get<std::uint64_t>()));
        }
        request.vcpu_priority = std::move(priorities);
    }
    if (json->contains("disks")) {
        auto disks = parse_device_limits((*json)["disks"], "disks", "iops");
        if (!disks)
            return Unexpected(disks.error());
        request.disks = std::move(*disks);
    }
    if (json->contains("nets")) {
        auto nets = parse_device_limits((*json)["nets"], "nets", "pps");
        if (!nets)
            return Unexpected(nets.error());
        request.nets = std::move(*nets);
    }
    return ApiRequest {std::move(request)};
}

Expected<ApiRequest, ApiError> parse_resize(std::string id, std::string_view body)
{
    auto json = parse_object(body, {"size"}, {"size"});
    if (!json)
        return Unexpected(json.error());
    auto size = size_value((*json)["size"], "size");
    if (!size)
        return Unexpected(size.error());
    if (*size == 0)
        return bad("'size' must be above 0");
    return ApiRequest {ResizeDisk {std::move(id), *size}};
}

// A "path" member: a non-empty absolute path (the VMM's working directory is no business of the
// client's), without NUL bytes.
Expected<std::string, ApiError> absolute_path(const Json& path)
{
    if (!path.is_string() || path.get_ref<const std::string&>().empty())
        return bad("'path' must be a non-empty string");
    const auto& text = path.get_ref<const std::string&>();
    if (text.find('\0') != std::string::npos || text.front() != '/')
        return bad("'path' must be an absolute path");
    return text;
}

Expected<ApiRequest, ApiError> parse_backup(std::string id, std::string_view body)
{
    auto json = parse_object(body, {"path", "bandwidth"}, {"path"});
    if (!json)
        return Unexpected(json.error());
    auto path = absolute_path((*json)["path"]);
    if (!path)
        return Unexpected(path.error());
    StartBackup request {std::move(id), std::move(*path), std::nullopt};
    if (json->contains("bandwidth")) {
        auto rate = size_value((*json)["bandwidth"], "bandwidth");
        if (!rate)
            return Unexpected(rate.error());
        if (*rate > 0)
            request.bandwidth = *rate;
    }
    return ApiRequest {std::move(request)};
}

Expected<ApiRequest, ApiError> parse_snapshot(std::string_view body)
{
    auto json = parse_object(body, {"path", "leave_paused"}, {"path"});
    if (!json)
        return Unexpected(json.error());
    auto path = absolute_path((*json)["path"]);
    if (!path)
        return Unexpected(path.error());
    TakeSnapshot request {std::move(*path), false};
    if (json->contains("leave_paused")) {
        const Json& leave = (*json)["leave_paused"];
        if (!leave.is_boolean())
            return bad("'leave_paused' must be true or false");
        request.leave_paused = leave.get<bool>();
    }
    return ApiRequest {std::move(request)};
}

// "/v1/disks/ID" -> ID; "/v1/disks/ID/backup" -> ID with `rest` = "backup".
struct DiskPath {
    std::string_view id;
    std::string_view rest;
};
std::optional<DiskPath> split_disk_path(std::string_view path)
{
    constexpr std::string_view prefix = "/v1/disks/";
    if (!path.starts_with(prefix))
        return std::nullopt;
    path.remove_prefix(prefix.size());
    const auto slash = path.find('/');
    if (slash == std::string_view::npos)
        return DiskPath {path, {}};
    return DiskPath {path.substr(0, slash), path.substr(slash + 1)};
}

} // namespace

Expected<ApiRequest, ApiError> parse_request(std::string_view method, std::string_view path, std::string_view body)
{
    if (body.size() > kMaxBodyBytes)
        return bad(fmt::format("the body is larger than {} bytes", kMaxBodyBytes));
    // A query string selects nothing here; refuse it rather than ignore it.
    if (path.find('?') != std::string_view::npos)
        return not_found(fmt::format("no such endpoint: {} {} (no query strings)", method, path));
    const bool no_body_method = method == "GET" || method == "DELETE";
    if (no_body_method && !body.empty())
        return bad(fmt::format("{} takes no body", method));

    if (path == "/v1/vm" && method == "GET")
        return ApiRequest {GetVm {}};
    if (path == "/v1/metrics" && method == "GET")
        return ApiRequest {GetMetrics {}};
    if (path == "/v1/vm/state" && method == "PUT")
        return parse_state(body);
    if (path == "/v1/vm/actions" && method == "PUT")
        return parse_action(body);
    if (path == "/v1/limits" && method == "PATCH")
        return parse_limits(body);
    if (path == "/v1/vm/snapshot" && method == "POST")
        return parse_snapshot(body);
    if (auto disk = split_disk_path(path)) {
        if (!valid_device_id(disk->id))
            return not_found(fmt::format("no such disk: '{}'", disk->id));
        std::string id(disk->id);
        if (disk->rest.empty() && method == "PATCH")
            return parse_resize(std::move(id), body);
        if (disk->rest == "backup") {
            if (method == "POST")
                return parse_backup(std::move(id), body);
            if (method == "GET")
                return ApiRequest {GetBackup {std::move(id)}};
            if (method == "DELETE")
                return ApiRequest {CancelBackup {std::move(id)}};
        }
    }
    return not_found(fmt::format("no such endpoint: {} {}", method, path));
}

} // namespace minivmm::api
