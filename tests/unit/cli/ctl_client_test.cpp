// parse_http_answer (vmm/cli/ctl_client.hpp): the ctl client reads minivmm's answers and
// reports a cut-short or malformed one as "the VM has ended" (exit code 4), never as success.
#include <catch2/catch.hpp>

#include "vmm/cli/ctl_client.hpp"

using namespace minivmm::cli;

TEST_CASE("ctl client: status and Content-Length framed body", "[cli][ctl]")
{
    const HttpAnswer answer = parse_http_answer(
        "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\ncontent-length: 13\r\n\r\n{\"error\":\"x\"}trailing");
    CHECK(answer.status == 409);
    CHECK(answer.body == "{\"error\":\"x\"}");
    CHECK(parse_http_answer("HTTP/1.1 200 OK\r\n\r\n{}").body == "{}");
}

TEST_CASE("ctl client: a truncated or malformed answer is VmEnded", "[cli][ctl]")
{
    for (const char* text : {"", "HTTP/1.1 200 OK\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}",
             "SSH-2.0\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 999 Huh\r\n\r\n",
             "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"}) {
        INFO(text);
        try {
            (void)parse_http_answer(text);
            FAIL("accepted");
        } catch (const CtlError& error) {
            CHECK(error.code() == CtlExit::VmEnded);
        }
    }
}
