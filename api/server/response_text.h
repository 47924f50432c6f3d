// The bytes bulwark-api writes back to an API client for one HttpResponse: the status line, the
// few headers Firecracker's clients rely on, and the body. Nothing here comes from the client:
// the status and body were made by the router or the launcher.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "api/routes/router.h"

namespace bulwark::api {

// "OK", "No Content", ... ("Unknown" for a status nobody here produces).
std::string_view reason_phrase(uint16_t status);

// "HTTP/1.1 <status> <reason>\r\nContent-Type: ...\r\nContent-Length: N\r\n[Connection: close\r\n]
// \r\n<body>". A 204 carries no body, so neither Content-Type nor Content-Length (RFC 9110
// forbids Content-Length on a 204).
std::string response_text(const HttpResponse& response, bool close_connection);

}  // namespace bulwark::api
