// parse_request (vmm/api/api_request.hpp): every endpoint's routing and body validation. What
// arrives on the socket is hostile: malformed JSON, wrong types, unknown or duplicated fields,
// oversized and truncated bodies are each one 400 with one line; unknown paths a 404.
#include <catch2/catch.hpp>

#include <string>

#include "vmm/api/api_request.hpp"

using namespace minivmm::api;

namespace {
ApiError error_of(std::string_view method, std::string_view path, std::string_view body)
{
    auto result = parse_request(method, path, body);
    INFO(method << " " << path << " " << body);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().message.find('\n') == std::string::npos);
    CHECK_FALSE(result.error().message.empty());
    return result.error();
}

template<typename T>
T request_of(std::string_view method, std::string_view path, std::string_view body)
{
    auto result = parse_request(method, path, body);
    INFO(method << " " << path << " " << body << " -> " << (result ? "" : result.error().message));
    REQUIRE(result.has_value());
    REQUIRE(std::holds_alternative<T>(*result));
    return std::get<T>(*result);
}
} // namespace

TEST_CASE("api: the GET endpoints route and take no body", "[api][request]")
{
    (void)request_of<GetVm>("GET", "/v1/vm", "");
    (void)request_of<GetMetrics>("GET", "/v1/metrics", "");
    CHECK(request_of<GetBackup>("GET", "/v1/disks/blk0/backup", "").id == "blk0");
    CHECK(request_of<CancelBackup>("DELETE", "/v1/disks/data-1/backup", "").id == "data-1");
    CHECK(error_of("GET", "/v1/vm", "{}").status == 400);
    CHECK(error_of("DELETE", "/v1/disks/blk0/backup", "x").status == 400);
}

TEST_CASE("api: unknown paths, methods and device ids are 404", "[api][request]")
{
    CHECK(error_of("GET", "/", "").status == 404);
    CHECK(error_of("GET", "/v1", "").status == 404);
    CHECK(error_of("GET", "/v1/vm/", "").status == 404);
    CHECK(error_of("GET", "/v2/vm", "").status == 404);
    CHECK(error_of("POST", "/v1/vm", "").status == 404);
    CHECK(error_of("PUT", "/v1/metrics", "{}").status == 404);
    CHECK(error_of("GET", "/v1/vm?x=1", "").status == 404);
    CHECK(error_of("PATCH", "/v1/disks/", R"({"size":"1M"})").status == 404);
    CHECK(error_of("PATCH", "/v1/disks/../../etc", R"({"size":"1M"})").status == 404);
    CHECK(error_of("PATCH", "/v1/disks/a%20b", R"({"size":"1M"})").status == 404);
    CHECK(error_of("PATCH", std::string("/v1/disks/") + std::string(33, 'a'), R"({"size":"1M"})").status == 404);
    CHECK(error_of("POST", "/v1/disks/blk0/snapshot", "{}").status == 404);
    CHECK(error_of("PUT", "/v1/disks/blk0/backup", "{}").status == 404);
}

TEST_CASE("api: PUT /v1/vm/state", "[api][request]")
{
    CHECK(request_of<SetState>("PUT", "/v1/vm/state", R"({"state":"paused"})").state == RunState::Paused);
    CHECK(request_of<SetState>("PUT", "/v1/vm/state", R"( { "state" : "running" } )").state == RunState::Running);
    for (const char* body : {"", "{", "[]", "\"paused\"", "null", "{}", R"({"state":1})", R"({"state":"Paused"})",
             R"({"state":"stopped"})", R"({"state":null})", R"({"state":"paused","x":1})",
             R"({"state":"paused","state":"running"})", R"({"state":"paused"} {})", R"({"state":"paused"}x)",
             R"({"state":"pau)"}) {
        INFO(body);
        CHECK(error_of("PUT", "/v1/vm/state", body).status == 400);
    }
    CHECK(error_of("PUT", "/v1/vm/state", R"({"state":"paused","extra":true})").message == "unknown field 'extra'");
    CHECK(error_of("PUT", "/v1/vm/state", R"({"state":"paused","state":"running"})").message
        == "field 'state' is given twice");
}

TEST_CASE("api: PUT /v1/vm/actions", "[api][request]")
{
    const auto stop = request_of<VmAction>("PUT", "/v1/vm/actions", R"({"action":"stop"})");
    CHECK(stop.kind == ActionKind::Stop);
    const auto shutdown = request_of<VmAction>("PUT", "/v1/vm/actions", R"({"action":"shutdown"})");
    CHECK(shutdown.kind == ActionKind::Shutdown);
    CHECK(shutdown.timeout_s == 30);
    CHECK(request_of<VmAction>("PUT", "/v1/vm/actions", R"({"action":"shutdown","timeout_s":0.5})").timeout_s == 0.5);
    for (const char* body : {R"({"action":"reboot"})", R"({"action":"stop","timeout_s":1})",
             R"({"action":"shutdown","timeout_s":"5"})", R"({"action":"shutdown","timeout_s":0})",
             R"({"action":"shutdown","timeout_s":-1})", R"({"action":"shutdown","timeout_s":1e300})",
             R"({"timeout_s":1})", R"({"action":["stop"]})"}) {
        INFO(body);
        CHECK(error_of("PUT", "/v1/vm/actions", body).status == 400);
    }
}

TEST_CASE("api: PATCH /v1/limits", "[api][request]")
{
    const auto all = request_of<PatchLimits>("PATCH", "/v1/limits",
        R"({"cpu_limit":0.5,"vcpu_priority":[1,3],"disks":{"blk0":{"bw":"8M","iops":100}},"nets":{"net0":{"pps":10,"bw":0}}})");
    CHECK(all.cpu_limit_given);
    CHECK(all.cpu_limit == 0.5);
    CHECK(all.vcpu_priority == std::vector<std::uint32_t> {1, 3});
    REQUIRE(all.disks.size() == 1);
    CHECK(all.disks[0].id == "blk0");
    CHECK(all.disks[0].bw == 8u << 20);
    CHECK(all.disks[0].ops == 100u);
    REQUIRE(all.nets.size() == 1);
    CHECK(all.nets[0].bw == 0u);
    CHECK(all.nets[0].ops == 10u);

    const auto lift = request_of<PatchLimits>("PATCH", "/v1/limits", R"({"cpu_limit":null})");
    CHECK(lift.cpu_limit_given);
    CHECK_FALSE(lift.cpu_limit);
    CHECK_FALSE(request_of<PatchLimits>("PATCH", "/v1/limits", R"({"disks":{"d":{"bw":1}}})").cpu_limit_given);

    for (const char* body : {"{}", R"({"cpu_limit":0})", R"({"cpu_limit":-1})", R"({"cpu_limit":"1"})",
             R"({"vcpu_priority":[]})", R"({"vcpu_priority":[0]})", R"({"vcpu_priority":[1.5]})",
             R"({"vcpu_priority":[-1]})", R"({"vcpu_priority":[1000001]})", R"({"vcpu_priority":"1,3"})",
             R"({"disks":[]})", R"({"disks":{"blk0":{}}})", R"({"disks":{"blk0":{"pps":1}}})",
             R"({"nets":{"net0":{"iops":1}}})", R"({"disks":{"blk0":{"bw":"8X"}}})", R"({"disks":{"blk0":{"bw":-1}}})",
             R"({"disks":{"blk0":{"bw":1.5}}})", R"({"disks":{"blk0":{"iops":"100"}}})", R"({"disks":{"a b":{"bw":1}}})",
             R"({"disks":{"blk0":5}})", R"({"memory":1})"}) {
        INFO(body);
        CHECK(error_of("PATCH", "/v1/limits", body).status == 400);
    }
}

TEST_CASE("api: PATCH /v1/disks/{id} (online resize)", "[api][request]")
{
    const auto resize = request_of<ResizeDisk>("PATCH", "/v1/disks/blk1", R"({"size":"16M"})");
    CHECK(resize.id == "blk1");
    CHECK(resize.size == 16u << 20);
    CHECK(request_of<ResizeDisk>("PATCH", "/v1/disks/blk1", R"({"size":4096})").size == 4096);
    for (const char* body : {"{}", R"({"size":0})", R"({"size":"0"})", R"({"size":"lots"})", R"({"size":true})",
             R"({"size":"16M","shrink":true})"}) {
        INFO(body);
        CHECK(error_of("PATCH", "/v1/disks/blk1", body).status == 400);
    }
}

TEST_CASE("api: POST /v1/disks/{id}/backup", "[api][request]")
{
    const auto backup = request_of<StartBackup>("POST", "/v1/disks/blk0/backup", R"({"path":"/tmp/b.img","bandwidth":"8M"})");
    CHECK(backup.id == "blk0");
    CHECK(backup.path == "/tmp/b.img");
    CHECK(backup.bandwidth == 8u << 20);
    CHECK_FALSE(request_of<StartBackup>("POST", "/v1/disks/blk0/backup", R"({"path":"/b"})").bandwidth);
    for (const char* body : {"{}", R"({"path":""})", R"({"path":"relative.img"})", R"({"path":1})",
             R"({"path":"/b","bandwidth":"fast"})", R"({"path":"/b","rate":1})"}) {
        INFO(body);
        CHECK(error_of("POST", "/v1/disks/blk0/backup", body).status == 400);
    }
    CHECK(error_of("POST", "/v1/disks/blk0/backup", std::string_view("{\"path\":\"/a\\u0000b\"}")).status == 400);
}

TEST_CASE("api: POST /v1/vm/snapshot", "[api][request]")
{
    const auto snapshot = request_of<TakeSnapshot>("POST", "/v1/vm/snapshot", R"({"path":"/var/snap/1"})");
    CHECK(snapshot.path == "/var/snap/1");
    CHECK_FALSE(snapshot.leave_paused);
    CHECK(request_of<TakeSnapshot>("POST", "/v1/vm/snapshot", R"({"path":"/s","leave_paused":true})").leave_paused);
    for (const char* body : {"{}", R"({"path":""})", R"({"path":"relative"})", R"({"path":1})",
             R"({"path":"/s","leave_paused":1})", R"({"path":"/s","leave_paused":"yes"})",
             R"({"path":"/s","with_disks":true})", R"({"path":"/s","diff_from":"/b"})"}) {
        INFO(body);
        CHECK(error_of("POST", "/v1/vm/snapshot", body).status == 400);
    }
    CHECK(error_of("POST", "/v1/vm/snapshot", std::string_view("{\"path\":\"/a\\u0000b\"}")).status == 400);
    CHECK(error_of("GET", "/v1/vm/snapshot", "").status == 404);
    CHECK(error_of("PUT", "/v1/vm/snapshot", R"({"path":"/s"})").status == 404);
}

TEST_CASE("api: bodies over 64 KiB are refused before they are parsed", "[api][request]")
{
    std::string body = R"({"state":"paused")";
    body += std::string(kMaxBodyBytes, ' ');
    body += "}";
    const ApiError error = error_of("PUT", "/v1/vm/state", body);
    CHECK(error.status == 400);
    CHECK(error.message == "the body is larger than 65536 bytes");
    // Exactly at the limit is parsed.
    std::string at_limit = R"({"state":"paused"})";
    at_limit.insert(1, std::string(kMaxBodyBytes - at_limit.size(), ' '));
    CHECK(request_of<SetState>("PUT", "/v1/vm/state", at_limit).state == RunState::Paused);
}

TEST_CASE("api: deeply nested and odd JSON is an error, not a crash", "[api][request]")
{
    const std::string nested = std::string(20000, '[') + std::string(20000, ']');
    CHECK(error_of("PATCH", "/v1/limits", nested).status == 400);
    CHECK(error_of("PATCH", "/v1/limits", std::string("{\"disks\":") + std::string(10000, '{')).status == 400);
    CHECK(error_of("PUT", "/v1/vm/state", "\xff\xfe{}").status == 400);
    CHECK(error_of("PUT", "/v1/vm/state", std::string_view("{\"state\":\"paused\"}\0", 19)).status == 400);
}
