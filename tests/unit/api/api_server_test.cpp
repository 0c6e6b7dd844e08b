// Tests for vmm/api/api_server.hpp: ApiServer::answer, the HTTP exchange as a pure function.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "vmm/api/api_server.hpp"

using namespace minivmm::api;

namespace {
const ApiServer::Handler kAccept = [](const ApiRequest&) { return ApiResponse {200, "{}"}; };
} // namespace

// Found by fuzz_api_request: the 404 message quotes the path, and a path with a byte that is not
// UTF-8 made nlohmann::json throw while writing the answer (type_error.316), ending the VMM.
TEST_CASE("api: an error answer quoting bytes that are not UTF-8 is still one valid JSON line", "[api]")
{
    const std::string path = std::string("/v1/vm/actio") + '\xce' + 's';
    ApiResponse response;
    REQUIRE_NOTHROW(response = ApiServer::answer("PUT", path, R"({"action":"stop"})", false, kAccept));
    CHECK(response.status == 404);
    const auto body = nlohmann::json::parse(response.body);
    REQUIRE(body.contains("error"));
    CHECK(body["error"].get<std::string>().find("\xef\xbf\xbd") != std::string::npos); // U+FFFD
}

TEST_CASE("api: a valid request reaches the handler; an oversized body does not", "[api]")
{
    CHECK(ApiServer::answer("GET", "/v1/vm", "", false, kAccept).status == 200);
    bool called = false;
    const ApiServer::Handler spy = [&](const ApiRequest&) {
        called = true;
        return ApiResponse {200, "{}"};
    };
    CHECK(ApiServer::answer("GET", "/v1/vm", "", true, spy).status == 400);
    CHECK_FALSE(called);
}

// Found by fuzz_api_request: a size given as a JSON string with an escaped newline was quoted in
// the 400 message, which then spanned two lines.
TEST_CASE("api: an error answer quoting a control character from the request stays one line", "[api]")
{
    const ApiResponse response = ApiServer::answer("PATCH", "/v1/limits", R"({"disks":{"blk0":{"bw":"1\n2"}}})",
        false, kAccept);
    CHECK(response.status == 400);
    const auto error = nlohmann::json::parse(response.body)["error"].get<std::string>();
    INFO(error);
    CHECK(error.find('\n') == std::string::npos);
    CHECK(error.find("\\x0a") != std::string::npos);
}
