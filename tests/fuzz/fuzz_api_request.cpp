// libFuzzer target: the control API's router and validator (vmm/api/api_request.hpp) behind the
// server's answer function, as a request arrives from the socket. Input: one byte choosing the
// method, the path up to the first '\n', the rest is the body. Every input must give one answer:
// 200 from the (accepting) handler, or a 400/404 with a one-line {"error": ...} JSON body.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "vmm/api/api_server.hpp"

using namespace minivmm::api;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static constexpr std::string_view kMethods[] = {"GET", "PUT", "PATCH", "POST", "DELETE", "HEAD", "get"};
    if (size == 0)
        return 0;
    const std::string_view method = kMethods[data[0] % std::size(kMethods)];
    std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    const auto newline = rest.find('\n');
    const std::string_view path = rest.substr(0, newline);
    const std::string_view body = newline == std::string_view::npos ? std::string_view {} : rest.substr(newline + 1);

    const ApiServer::Handler accept = [](const ApiRequest&) { return ApiResponse {200, "{}"}; };
    const ApiResponse response = ApiServer::answer(method, path, body, false, accept);
    if (response.status == 200)
        return 0;
    // An error: 400 or 404, and a JSON object with a one-line "error".
    if (response.status != 400 && response.status != 404)
        std::abort();
    const auto json = nlohmann::json::parse(response.body, nullptr, false);
    if (!json.is_object() || !json.contains("error") || !json["error"].is_string()
        || json["error"].get<std::string>().find('\n') != std::string::npos)
        std::abort();
    return 0;
}
