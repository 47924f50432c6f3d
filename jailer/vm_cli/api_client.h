// One HTTP/1.1 request to a VM's API socket (bulwark-api, Firecracker's API) for `bulwark vm`,
// run by the operator as root. The far end is jailed and may be compromised: the whole exchange
// (connect, send, receive) has one deadline, and the answer goes through ApiResponseReader's
// limits, so a silent, slow or flooding API process costs a bounded wait and buffer.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "bulwark/common/result.h"
#include "jailer/vm_cli/api_response.h"

namespace bulwark::vm_cli {

struct ApiRequest {
  std::string method;  // "GET", "PUT", "PATCH"
  std::string path;    // "/vm"
  std::string body;    // JSON, "" for none (sent with Content-Length: 0 either way)
};

// A path that fits sockaddr_un's sun_path with its terminating NUL and has no NUL of its own.
Status check_socket_path(std::string_view path);

// The request line, headers and body as sent (Host, Content-Length, Connection: close).
std::string format_request(const ApiRequest& request);

// Any answer the API gave, error statuses included. The path must name the socket itself: a
// symbolic link is refused (the socket lives in the VM's jail). Errors: the path
// (check_socket_path), "cannot connect to "PATH": ...", "no complete answer within 2 s",
// "invalid answer: ...".
Result<ApiResponse> call_api(std::string_view socket_path, const ApiRequest& request,
                             std::chrono::milliseconds timeout, ApiResponseLimits limits = {});

}  // namespace bulwark::vm_cli
